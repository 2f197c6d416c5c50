"""Websocket authentication whose session lookups run side by side.

Channels' ``AuthMiddleware`` reads each socket's session and user through a
thread-sensitive ``database_sync_to_async``: every connection of the process
queues behind one thread, which is most of the time when 200 consoles
reconnect at once. The lookups touch no shared state, so here they run on the
pool of threads the consumers already use for their database work.
"""

from channels.auth import AuthMiddleware, CookieMiddleware, SessionMiddleware
from channels.auth import get_user as _channels_get_user
from channels.db import database_sync_to_async

_get_user = database_sync_to_async(_channels_get_user.func, thread_sensitive=False)


class PooledAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope) -> None:
        scope["user"]._wrapped = await _get_user(scope)


def PooledAuthMiddlewareStack(inner):  # noqa: N802 - named like Channels' stack
    return CookieMiddleware(SessionMiddleware(PooledAuthMiddleware(inner)))
