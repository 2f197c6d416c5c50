"""Customers, tickets, messages, attachments and the audit trail.

Fields, constraints and small row properties only: every write goes through
``tickets.services``.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from tickets.states import HELD, Status

# The human queue's order: most urgent, then the first-response SLA due
# soonest (none due: last), then oldest. Dispatch and the pool claim read
# waiting tickets in this order, and the ``ticket_waiting`` index holds them
# in it (on PostgreSQL an ascending key already sorts NULLs last).
QUEUE_ORDER = (
    F("priority").desc(),
    F("first_response_due").asc(nulls_last=True),
    F("created_at").asc(),
    F("id").asc(),
)


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
            # The waiting tickets alone, in queue order: a claim from a pool
            # of 100,000 reads the first row instead of sorting them all.
            models.Index(
                fields=["-priority", "first_response_due", "created_at", "id"],
                condition=Q(status=Status.AWAITING_AGENT),
                name="ticket_waiting",
            ),
            models.Index(fields=["assignee", "status"], name="ticket_assignee"),
            # What an agent holds and is offered, the capacity check of every
            # ownership change (agents/capacity.py): the rows counted are the
            # agent's own, whatever the statistics say of the statuses. With
            # only the two-column index, a planner that believed few tickets
            # were claimed read every claimed ticket of the desk per claim.
            models.Index(
                fields=["assignee"],
                condition=Q(status__in=list(HELD)),
                name="ticket_held",
            ),
            models.Index(
                fields=["offered_to"],
                condition=Q(status=Status.OFFERED),
                name="ticket_offered",
            ),
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
    # The customer's socket was last heard from (connect, ping); None once it
    # closed. A reply while nobody is listening goes to ``email`` as well.
    seen_at = models.DateTimeField(null=True, blank=True)
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


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, not processed yet (or crashed)
    PROCESSED = "processed", "Processed"
    NOISE = "noise", "Noise"  # auto-reply/bounce/list that matched no ticket
    QUARANTINED = "quarantined", "Quarantined"
    FAILED = "failed", "Failed"  # processing raised; the raw bytes are kept


class InboundEmail(models.Model):
    """One received email, exactly as it arrived, stored before anything else.

    ``dedup_key`` makes redelivery idempotent under concurrency: it is the
    Message-ID (or the raw bytes' hash when there is none), so a second insert
    of the same message fails on the unique constraint instead of racing a
    read-then-write check.
    """

    raw = models.BinaryField()
    content_hash = models.CharField(max_length=64)
    dedup_key = models.CharField(max_length=200, unique=True)
    rfc_message_id = models.CharField(max_length=998, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=16)  # command, webhook, imap
    source_ref = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    error = models.TextField(blank=True)
    flags = models.JSONField(default=dict, blank=True)
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_emails",
    )
    message = models.OneToOneField(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_email",
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "-received_at"], name="inbound_status"),
            models.Index(fields=["ticket", "from_address"], name="inbound_sender"),
        ]

    def __str__(self) -> str:
        return f"inbound {self.pk} {self.status} {self.subject[:40]}"


class EmailThreadId(models.Model):
    """Every Message-ID the desk has seen or sent, and the ticket it threads to.

    The first claim wins (inserts ignore conflicts), so the index only grows
    and a later message can never move an id to another ticket.
    """

    message_id = models.CharField(max_length=998, unique=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="thread_ids"
    )

    def __str__(self) -> str:
        return f"{self.message_id} -> #{self.ticket_id}"


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # A sender died between its "sending" mark and the result: the server may
    # or may not have the mail, so only a supervisor may send it again.
    UNCERTAIN = "uncertain", "Uncertain"


class EmailOutbox(models.Model):
    """One outgoing email, committed before it is sent.

    ``idempotency_key`` fixes the Message-ID, so an explicit resend is the
    same message, recognisable by the receiver. ``sending_started_at`` and
    ``attempts`` are committed before SMTP is spoken to; a row still
    ``sending`` after ``lease_expires_at`` belongs to a sender that died, and
    becomes ``uncertain`` instead of being sent again.
    """

    idempotency_key = models.UUIDField(unique=True)
    rfc_message_id = models.CharField(max_length=255, unique=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="outbox")
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox",
    )
    kind = models.CharField(max_length=16)  # reply, acknowledgement
    automatic = models.BooleanField(default=False)
    to_address = models.CharField(max_length=254)
    text = models.TextField()
    html = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    smtp_response = models.TextField(blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "email outbox"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["queued", "sending"]),
                name="outbox_due",
            )
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} {self.status} to {self.to_address}"


class AutoMailLog(models.Model):
    """When the desk last sent an automatic mail to an address (loop guard)."""

    address = models.CharField(max_length=254, unique=True)
    last_sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.address} at {self.last_sent_at}"


class ImapMailboxState(models.Model):
    """How far the IMAP poller has read one mailbox folder.

    UIDs are only meaningful within one UIDVALIDITY; when the server changes
    it the poller starts over and the Message-ID dedup absorbs the repeats.
    """

    host = models.CharField(max_length=255)
    user = models.CharField(max_length=255)
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host", "user", "folder"], name="imap_mailbox_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}@{self.host}/{self.folder}"
