"""Sessions kept in the database, each read by one compiled query.

Django's ``db`` engine builds its lookup through the ORM on every read; every
page a member of staff opens and every console socket reads its session, and
200 consoles reconnecting at once read 200 of them. Same table, same rows,
same expiry rule: an expired session reads as no session.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from supportdesk.prepared import PreparedRead

_BY_KEY = PreparedRead(lambda: Session.objects.filter(session_key="placeholder"))


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        session = _BY_KEY.first(self.session_key) if self.session_key else None
        if session is None or session.expire_date <= timezone.now():
            self._session_key = None
            return None
        return session
