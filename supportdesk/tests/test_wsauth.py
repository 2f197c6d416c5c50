"""Who a websocket is: the session's user, checked as Django checks it."""

from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

from conftest import UserFactory
from supportdesk.sessions import SessionStore
from supportdesk.wsauth import MODEL_BACKEND, get_user

pytestmark = pytest.mark.django_db


def _session(user, backend: str = MODEL_BACKEND, auth_hash: str | None = None):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = backend
    store[HASH_SESSION_KEY] = auth_hash or user.get_session_auth_hash()
    store.create()
    return store.session_key


def _user_of(key: str | None):
    return get_user({"session": SessionStore(key)})


def test_a_logged_in_session_is_its_user():
    user = UserFactory(username="ana")
    assert _user_of(_session(user)) == user


def test_no_cookie_or_an_unknown_key_is_anonymous():
    assert _user_of(None).is_anonymous
    assert _user_of("nosuchsessionkey12345").is_anonymous


def test_an_expired_session_is_anonymous():
    key = _session(UserFactory(username="ana"))
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(1))
    assert _user_of(key).is_anonymous


def test_a_session_whose_hash_no_longer_matches_is_anonymous_and_flushed():
    user = UserFactory(username="ana")
    key = _session(user)
    user.set_password("changed")  # a password change logs every session out
    user.save()
    assert _user_of(key).is_anonymous
    assert not Session.objects.filter(pk=key).exists()


def test_an_inactive_user_or_an_unlisted_backend_is_anonymous():
    ana, bo = UserFactory(username="ana", is_active=False), UserFactory(username="bo")
    assert _user_of(_session(ana)).is_anonymous
    assert _user_of(_session(bo, backend="some.other.Backend")).is_anonymous
