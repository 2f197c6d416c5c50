"""Agent profiles: who may work, in which languages and categories, how much."""

from django.conf import settings
from django.db import models


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

    def __str__(self) -> str:
        return f"agent {self.user}"

    @property
    def may_work(self) -> bool:
        return self.approved and not self.suspended and self.user.is_active
