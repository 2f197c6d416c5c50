"""Agent profiles, presence, the per-agent event log, declines and earnings.

Fields, constraints and small row properties only: every write goes through
``agents.services`` or ``agents.dispatch``.
"""

from django.conf import settings
from django.db import models


class AgentStatus(models.TextChoices):
    OFFLINE = "offline", "Offline"
    ACCEPTING = "accepting", "Online, accepting offers"
    NOT_ACCEPTING = "not_accepting", "Online, not accepting offers"
    NOT_RESPONDING = "not_responding", "Not responding"


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    languages = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)  # empty: every category
    capacity = models.PositiveSmallIntegerField(default=3)
    approved = models.BooleanField(default=False)
    suspended = models.BooleanField(default=False)
    rating = models.FloatField(default=0.0)
    pay_rate_cents = models.PositiveIntegerField(default=150)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=16, choices=AgentStatus.choices, default=AgentStatus.OFFLINE
    )
    # Open websockets across all web processes; zero means "gone" even if
    # the heartbeat is still fresh.
    connections = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_offer_at = models.DateTimeField(null=True, blank=True)
    # How long held tickets stay with an agent who went away; set by supervisors.
    lease_grace_seconds = models.PositiveIntegerField(default=60)

    class Meta:
        indexes = [models.Index(fields=["status"], name="agent_status")]

    def __str__(self) -> str:
        return f"agent {self.user}"

    @property
    def may_work(self) -> bool:
        return self.approved and not self.suspended and self.user.is_active


class AgentEventLog(models.Model):
    """The record of every event one agent can see, numbered per agent.

    ``head`` is bumped in the same transaction that writes an event, so the
    row lock makes one agent's sequence numbers commit in order: a console
    that has seen ``n`` has seen everything up to ``n``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True
    )
    head = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"event log of {self.user_id} at {self.head}"


class AgentEvent(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    seq = models.BigIntegerField()
    type = models.CharField(max_length=48)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "seq"], name="agent_event_seq")
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq} for {self.user_id}"


class OfferOutcome(models.TextChoices):
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class OfferDecline(models.Model):
    """An agent turned a ticket down (or let it lapse): do not offer it again."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="declines"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    outcome = models.CharField(max_length=12, choices=OfferOutcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="decline_once")
        ]

    def __str__(self) -> str:
        return f"{self.outcome} #{self.ticket_id} by {self.user_id}"


class OfferPolicy(models.Model):
    """The offer countdown for one category (default from settings)."""

    category = models.CharField(max_length=64, unique=True)
    offer_seconds = models.PositiveSmallIntegerField(default=20)

    class Meta:
        verbose_name_plural = "offer policies"

    def __str__(self) -> str:
        return f"{self.category}: {self.offer_seconds}s"


class Earning(models.Model):
    """The earnings ledger: one credit per resolved ticket, never edited."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="earnings"
    )
    amount_cents = models.IntegerField()
    reason = models.CharField(max_length=32, default="resolved")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "ticket", "reason"], name="earning_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount_cents} cents to {self.user_id} for #{self.ticket_id}"
