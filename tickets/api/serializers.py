"""Shapes of the API's input and output; no business logic lives here."""

from rest_framework import serializers

from tickets.models import Attachment, Message, Priority, Ticket, TicketEvent
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


class TicketSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    priority = PriorityField(read_only=True)
    customer = PersonSerializer(read_only=True)
    assignee = AssigneeSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "channel",
            "status",
            "category",
            "priority",
            "language",
            "sentiment",
            "wants_human",
            "customer",
            "assignee",
            "version",
            "first_response_due",
            "resolution_due",
            "created_at",
            "updated_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields


class TicketCreateSerializer(StrictSerializer):
    subject = serializers.CharField(max_length=300)
    text = serializers.CharField(max_length=20_000)
    customer_email = serializers.EmailField(required=False)
    customer_name = serializers.CharField(max_length=200, required=False, default="")


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "inline", "rejected_reason"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    internal = serializers.BooleanField(source="is_internal_note", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "author_kind",
            "channel",
            "text",
            "html",
            "internal",
            "attachments",
            "created_at",
        ]
        read_only_fields = fields


class MessageCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=20_000)
    internal = serializers.BooleanField(required=False, default=False)


class TransitionSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=[a.value for a in Action])


class TicketEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "actor", "actor_kind", "before", "after", "created_at"]
        read_only_fields = fields
