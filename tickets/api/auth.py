"""Token authentication with the user read by one prepared query.

DRF's ``TokenAuthentication`` builds ``select_related("user").get(key=...)``
through the QuerySet API on every request; the SQL never changes, so it is
compiled once (supportdesk/prepared.py). Same checks, same errors.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from supportdesk.prepared import PreparedRead

_USER_BY_TOKEN = PreparedRead(
    lambda: get_user_model().objects.filter(auth_token__key="placeholder")
)


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        user = _USER_BY_TOKEN.first(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # request.auth: the token row's key and user (its creation time is
        # not read; nothing uses it).
        return user, Token(key=key, user=user)
