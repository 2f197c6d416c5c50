"""Which web pages may embed the widget (``CHAT_ALLOWED_ORIGINS``).

The desk's own hosts always may; other pages only when listed, or when the
list is ``*``. Staff websockets keep the stricter same-host check.
"""

from urllib.parse import urlsplit

from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.conf import settings


def origin_allowed(origin: str, host: str | None = None) -> bool:
    allowed = settings.CHAT_ALLOWED_ORIGINS
    if "*" in allowed or origin.rstrip("/") in {o.rstrip("/") for o in allowed}:
        return True
    parts = urlsplit(origin)
    origin_host = parts.netloc
    return bool(host) and origin_host == host


class ChatOriginValidator:
    """Chat sockets accept the listed embedding pages; other sockets do not."""

    def __init__(self, application):
        self.staff = AllowedHostsOriginValidator(application)
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and scope["path"].startswith("/ws/chat/"):
            validator = OriginValidator(self.application, _chat_origins())
            return await validator(scope, receive, send)
        return await self.staff(scope, receive, send)


def _chat_origins() -> list[str]:
    if "*" in settings.CHAT_ALLOWED_ORIGINS:
        return ["*"]
    own = [h for h in settings.ALLOWED_HOSTS if h]
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        own = ["localhost", "127.0.0.1", "[::1]"]
    return own + list(settings.CHAT_ALLOWED_ORIGINS)
