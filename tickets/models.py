"""Customers, tickets, messages, attachments and the audit trail.

Fields, constraints and small row properties only: every write goes through
``tickets.services``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from tickets.states import Status


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    API = "api", "API"


class Priority(models.IntegerChoices):
    # Stored as numbers so "most urgent first" is a plain ORDER BY.
    LOW = 0, "low"
    NORMAL = 1, "normal"
    HIGH = 2, "high"
    URGENT = 3, "urgent"


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AI = "ai", "AI"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class Direction(models.TextChoices):
    INBOUND = "in", "Inbound"
    OUTBOUND = "out", "Outbound"
    INTERNAL = "internal", "Internal"


class Customer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    email = models.EmailField(max_length=254, null=True, blank=True, unique=True)
    name = models.CharField(max_length=200, blank=True)
    preferred_language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.email or f"customer {self.pk}"


class CustomerIdentity(models.Model):
    """Another verified way to recognise the customer (phone, chat session, ...)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities"
    )
    kind = models.CharField(max_length=32)
    value = models.CharField(max_length=255)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique")
        ]
        verbose_name_plural = "customer identities"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Ticket(models.Model):
    subject = models.CharField(max_length=300)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(
        max_length=24, choices=[(s.value, s.value) for s in Status], default=Status.NEW
    )
    category = models.CharField(max_length=64, blank=True)
    priority = models.SmallIntegerField(
        choices=Priority.choices, default=Priority.NORMAL
    )
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, blank=True)
    wants_human = models.BooleanField(default=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    offered_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="offered_tickets",
    )
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    reply_token = models.CharField(max_length=32, unique=True)
    # Bumped by every transition; a compare-and-swap on it makes each
    # ownership change exactly-once.
    version = models.PositiveIntegerField(default=0)
    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The human queue: most urgent, then oldest.
            models.Index(
                fields=["status", "-priority", "created_at"], name="ticket_queue"
            ),
            models.Index(fields=["assignee", "status"], name="ticket_assignee"),
            models.Index(fields=["offered_to"], name="ticket_offered_to"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer"),
            models.Index(fields=["category", "-created_at"], name="ticket_category"),
            models.Index(
                fields=["first_response_due"],
                condition=Q(first_response_at__isnull=True),
                name="ticket_sla_open",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def reference(self) -> str:
        return f"SD-{self.pk}"


class Message(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    author_kind = models.CharField(max_length=8, choices=AuthorKind.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    text = models.TextField(blank=True)
    # The text without quoted history and signature: what triage reads.
    reply_text = models.TextField(blank=True)
    html = models.TextField(blank=True)  # sanitised
    raw = models.BinaryField(null=True, blank=True)  # as received, for email
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    is_internal_note = models.BooleanField(default=False)
    # Problems found on intake (malformed MIME, reused Message-ID, ...).
    flags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "id"], name="message_ticket")]

    def __str__(self) -> str:
        return f"{self.author_kind} message {self.pk} on #{self.ticket_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.message.ticket_id}/{instance.message_id}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=500, blank=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True)
    inline = models.BooleanField(default=False)
    rejected_reason = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """One audited change: who, what, when, before and after."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_kind = models.CharField(max_length=16)
    kind = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "id"], name="event_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"


class ChatSession(models.Model):
    """One browser's chat with the desk, reached through a signed token.

    The ticket is opened by the first message, and replaced by a new one when
    the customer writes again after the old ticket was closed.
    """

    key = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="chat_sessions"
    )
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_sessions",
    )
    # Where "we'll reply by email" goes; not verified, so never used to log in.
    email = models.EmailField(max_length=254, blank=True)
    language = models.CharField(max_length=8, blank=True)
    created_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"chat {self.key}"


class ChatClientMessage(models.Model):
    """The client's id for a message it sent, so a resend is stored once."""

    session = models.ForeignKey(
        ChatSession, on_delete=models.CASCADE, related_name="client_messages"
    )
    client_msg_id = models.CharField(max_length=64)
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="chat_client"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client_msg_id"], name="chat_client_msg_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.client_msg_id}"
