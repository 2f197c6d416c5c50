"""Shapes of the API's input and output; no business logic lives here."""

from datetime import datetime

from django.utils import timezone
from rest_framework import serializers

from tickets.models import Priority
from tickets.states import Action


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know instead of silently ignoring them."""

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field."] for name in sorted(unknown)}
            )
        return attrs

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["Expected a JSON object."]}
            )
        return super().to_internal_value(data)


class PriorityField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=[label for _, label in Priority.choices], **kwargs)

    def to_representation(self, value):
        return Priority(value).label


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)


class AssigneeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TicketSerializer(serializers.Serializer):
    """The declared fields are the schema; ``to_representation`` writes the
    same JSON directly (test_api_create.py holds the two equal).

    Plain Serializer, not ModelSerializer: no model introspection. And no
    per-field rendering either: DRF deep-copies and binds all 20 fields for
    every instance, 0.7 ms of CPU per ticket, as much as one insert.
    """

    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    category = serializers.CharField(read_only=True)
    priority = PriorityField(read_only=True)
    language = serializers.CharField(read_only=True)
    sentiment = serializers.CharField(read_only=True)
    wants_human = serializers.BooleanField(read_only=True)
    customer = PersonSerializer(read_only=True)
    assignee = AssigneeSerializer(read_only=True, allow_null=True)
    version = serializers.IntegerField(read_only=True)
    first_response_due = serializers.DateTimeField(read_only=True)
    resolution_due = serializers.DateTimeField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    first_response_at = serializers.DateTimeField(read_only=True)
    resolved_at = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, ticket):
        customer, assignee = ticket.customer, ticket.assignee
        return {
            "id": ticket.pk,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "channel": ticket.channel,
            "status": ticket.status,
            "category": ticket.category,
            "priority": Priority(ticket.priority).label,
            "language": ticket.language,
            "sentiment": ticket.sentiment,
            "wants_human": ticket.wants_human,
            "customer": {
                "id": customer.pk,
                "name": customer.name,
                "email": customer.email,
            },
            "assignee": assignee and {"id": assignee.pk, "username": assignee.username},
            "version": ticket.version,
            "first_response_due": _iso(ticket.first_response_due),
            "resolution_due": _iso(ticket.resolution_due),
            "created_at": _iso(ticket.created_at),
            "updated_at": _iso(ticket.updated_at),
            "first_response_at": _iso(ticket.first_response_at),
            "resolved_at": _iso(ticket.resolved_at),
            "closed_at": _iso(ticket.closed_at),
        }


def _iso(value: datetime | None) -> str | None:
    """What DRF's DateTimeField writes: ISO 8601, current time zone, UTC as Z."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class TicketCreateSerializer(StrictSerializer):
    subject = serializers.CharField(max_length=300)
    text = serializers.CharField(max_length=20_000)
    customer_email = serializers.EmailField(required=False)
    customer_name = serializers.CharField(max_length=200, required=False, default="")


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    filename = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    inline = serializers.BooleanField(read_only=True)
    rejected_reason = serializers.CharField(read_only=True)


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    direction = serializers.CharField(read_only=True)
    author_kind = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    html = serializers.CharField(read_only=True)
    internal = serializers.BooleanField(source="is_internal_note", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class MessageCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=20_000)
    internal = serializers.BooleanField(required=False, default=False)


class TransitionSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=[a.value for a in Action])


class TicketEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)
    actor_kind = serializers.CharField(read_only=True)
    before = serializers.JSONField(read_only=True)
    after = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
