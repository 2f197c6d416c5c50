"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from supportdesk.routing import websocket_urlpatterns  # noqa: E402
from tickets.chat.origins import ChatOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Staff sockets: same host only; chat sockets: also CHAT_ALLOWED_ORIGINS.
        "websocket": ChatOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

if settings.CELERY_INPROCESS_WORKER:
    from supportdesk import inprocess

    inprocess.start()
