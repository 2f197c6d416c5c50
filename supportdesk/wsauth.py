"""Websocket authentication whose session lookups run side by side.

Channels' ``AuthMiddleware`` reads each socket's session and user through a
thread-sensitive ``database_sync_to_async``: every connection of the process
queues behind one thread, which is most of the time when 200 consoles
reconnect at once. The lookups touch no shared state, so here they run on the
pool of threads the consumers already use for their database work.

The checks are Channels' ``get_user``: the session names a configured
backend, the user it names exists and may log in, and the session's hash
matches the user's. For Django's ``ModelBackend`` the user is read by one
compiled query (supportdesk/prepared.py) instead of a QuerySet built per
socket; any other backend is asked as usual.
"""

from channels.auth import AuthMiddleware, CookieMiddleware, SessionMiddleware
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare

from supportdesk.prepared import PreparedRead

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_USER = PreparedRead(lambda: get_user_model()._default_manager.filter(pk=0))


def _backend_user(backend_path: str, user_id):
    if backend_path == MODEL_BACKEND:
        user = _USER.first(user_id)
        backend = load_backend(backend_path)
        return user if user and backend.user_can_authenticate(user) else None
    return load_backend(backend_path).get_user(user_id)


def get_user(scope):
    session = scope["session"]
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    user = _backend_user(backend_path, user_id)
    if user is None:
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(
        session_hash, user.get_session_auth_hash()
    ):
        session.flush()
        return AnonymousUser()
    return user


_get_user = database_sync_to_async(get_user, thread_sensitive=False)


class PooledAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope) -> None:
        scope["user"]._wrapped = await _get_user(scope)


def PooledAuthMiddlewareStack(inner):  # noqa: N802 - named like Channels' stack
    return CookieMiddleware(SessionMiddleware(PooledAuthMiddleware(inner)))
