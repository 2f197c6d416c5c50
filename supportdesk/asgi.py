"""ASGI entry point: HTTP through Django, websockets through Channels."""

import asyncio
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from supportdesk import realtime  # noqa: E402
from supportdesk.http import PooledHTTPHandler  # noqa: E402
from supportdesk.routing import websocket_urlpatterns  # noqa: E402
from supportdesk.wsauth import PooledAuthMiddlewareStack  # noqa: E402
from tickets.chat.origins import ChatOriginValidator  # noqa: E402

router = ProtocolTypeRouter(
    {
        # Every view is synchronous: one pooled thread per request, not
        # Django's per-request thread and hops (supportdesk/http.py).
        "http": PooledHTTPHandler(threads=settings.WEB_THREADS),
        # Staff sockets: same host only; chat sockets: also CHAT_ALLOWED_ORIGINS.
        "websocket": ChatOriginValidator(
            PooledAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)


async def application(scope, receive, send):
    # Remember the server's loop once: events published from worker threads
    # go to the consumers living on it.
    if realtime._server_loop is None:
        realtime.bind_server_loop(asyncio.get_running_loop())
    return await router(scope, receive, send)


if settings.CELERY_INPROCESS_WORKER:
    from supportdesk import inprocess

    inprocess.start()
