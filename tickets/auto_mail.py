"""Automatic mail (acknowledgements): at most one per address per window.

``EMAIL_AUTO_MAIL_WINDOW_SECONDS`` sets the window; the decision is atomic, so
two intakes racing for the same address cannot both send.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.models import AutoMailLog


def allowed_many(*, addresses: list[str]) -> set[str]:
    """``allowed`` for many addresses, in the caller's transaction.

    The rows found are locked; a first contact inserted concurrently makes
    the insert fail and the caller's transaction with it (batched intake
    then goes one by one), so two writers still cannot both say yes.
    """
    wanted = {a.strip().lower()[:254] for a in addresses if a}
    now = timezone.now()
    window = timedelta(seconds=settings.EMAIL_AUTO_MAIL_WINDOW_SECONDS)
    logs = AutoMailLog.objects.select_for_update().filter(address__in=wanted)
    seen = dict(logs.values_list("address", "last_sent_at"))
    lapsed = {a for a, last in seen.items() if last <= now - window}
    fresh = wanted - seen.keys()
    AutoMailLog.objects.bulk_create(
        [AutoMailLog(address=a, last_sent_at=now) for a in fresh]
    )
    if lapsed:
        AutoMailLog.objects.filter(address__in=lapsed).update(last_sent_at=now)
    return fresh | lapsed


def allowed(*, address: str) -> bool:
    """At most one automatic mail per address per window, decided atomically.

    Both branches are single statements that only one concurrent caller can
    win: the insert by the unique constraint, the update by its condition.
    """
    address = address.strip().lower()[:254]
    now = timezone.now()
    try:
        with transaction.atomic():
            AutoMailLog.objects.create(address=address, last_sent_at=now)
            return True
    except IntegrityError:
        pass
    window = timedelta(seconds=settings.EMAIL_AUTO_MAIL_WINDOW_SECONDS)
    return bool(
        AutoMailLog.objects.filter(
            address=address, last_sent_at__lte=now - window
        ).update(last_sent_at=now)
    )
