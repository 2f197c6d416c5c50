"""What triage recorded per message, the knowledge base it drafts from, and the
per-category policy that decides whether the AI may answer alone.

Fields, constraints and small row properties only: writes go through
``triage.services``.
"""

from django.db import models

from tickets.models import Message, Ticket


class Route(models.TextChoices):
    AUTO = "auto", "Auto-answered"
    HUMAN = "human", "Human queue"


class TriageResult(models.Model):
    """One per customer message: every output, how it was made, where it went."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="triage_result"
    )
    # Denormalised so the agent console reads the ticket's latest draft directly.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="triage_results"
    )
    backend = models.CharField(max_length=32)
    model_name = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    category = models.CharField(max_length=64, blank=True)
    priority = models.CharField(max_length=8, blank=True)  # low|normal|high|urgent
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=8, blank=True)
    wants_human = models.BooleanField(default=False)
    out_of_scope = models.BooleanField(default=False)
    # {"fraud": {"confidence": 0.9, "reason": "word 'stolen'"}, ...}
    risk_flags = models.JSONField(default=dict, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    # {"category": "...", "priority": "...", "route": "...", ...}: for agents.
    reasons = models.JSONField(default=dict, blank=True)
    # The PII-redacted text, kept beside the original message (never replaces it).
    redacted_text = models.TextField(blank=True)
    draft = models.TextField(blank=True)
    cited_articles = models.JSONField(default=list, blank=True)
    guardrail_violations = models.JSONField(default=list, blank=True)
    route = models.CharField(max_length=8, choices=Route.choices)
    latency_ms = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(null=True, blank=True)
    tokens_out = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["ticket", "-id"], name="triage_ticket_latest"),
            models.Index(fields=["category", "-created_at"], name="triage_category"),
        ]

    def __str__(self) -> str:
        return f"triage of message {self.message_id}: {self.category or 'failed'}"

    @property
    def failed(self) -> bool:
        return bool(self.error)


class KnowledgeArticle(models.Model):
    """A knowledge-base article or a macro (a canned reply) drafts are built from."""

    title = models.CharField(max_length=200)
    body = models.TextField()
    language = models.CharField(max_length=8, default="en")
    category = models.CharField(max_length=64, blank=True, db_index=True)
    is_macro = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "language", "title"]

    def __str__(self) -> str:
        kind = "macro" if self.is_macro else "article"
        return f"{self.title} ({self.language} {kind})"


class CategoryPolicy(models.Model):
    """Routing and auto-reply rules for one category (intent).

    A category without a row is never auto-answered.
    """

    category = models.CharField(max_length=64, unique=True)
    auto_send = models.BooleanField(
        default=False, help_text="The AI may answer alone in this category."
    )
    confidence_threshold = models.FloatField(
        default=0.9, help_text="Auto-send only above this classifier confidence."
    )
    refund_allowed = models.BooleanField(
        default=False, help_text="Drafts may promise a refund."
    )
    credit_allowed = models.BooleanField(
        default=False, help_text="Drafts may promise account credit or compensation."
    )
    offer_countdown_seconds = models.PositiveIntegerField(
        default=30, help_text="How long an agent has to accept an offer."
    )

    class Meta:
        ordering = ["category"]
        verbose_name_plural = "category policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence_threshold__gte=0)
                & models.Q(confidence_threshold__lte=1),
                name="policy_threshold_0_1",
            )
        ]

    def __str__(self) -> str:
        return self.category

    @property
    def allowed_promises(self) -> list[str]:
        out = []
        if self.refund_allowed:
            out.append("refund")
        if self.credit_allowed:
            out += ["credit", "compensation"]
        return out
