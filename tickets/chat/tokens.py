"""Signed chat session tokens.

The token is the only credential a chat customer has: it names one session,
is signed with ``SECRET_KEY`` (so it cannot be forged or pointed at someone
else's session) and expires after ``CHAT_SESSION_MAX_AGE`` seconds.
"""

from django.conf import settings
from django.core import signing

SALT = "tickets.chat.session"


class BadToken(Exception):
    pass


def token_for(session_key: str) -> str:
    return signing.dumps(session_key, salt=SALT, compress=False)


def session_key_from(token: str) -> str:
    """The session key the token was signed for, or BadToken."""
    try:
        key = signing.loads(token, salt=SALT, max_age=settings.CHAT_SESSION_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        raise BadToken("invalid or expired chat token") from None
    if not isinstance(key, str):
        raise BadToken("invalid chat token")
    return key
