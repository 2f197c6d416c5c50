"""Supervisors' view of customers, tickets, messages and the audit trail.

Kept fast at 100,000+ tickets: no full result count, FK columns joined in the
list query, FK inputs as raw ids, and only choice-based filters.
"""

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _

from tickets import email_services, outbox
from tickets.models import (
    Attachment,
    Customer,
    CustomerIdentity,
    EmailOutbox,
    InboundEmail,
    Message,
    Ticket,
    TicketEvent,
)


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: past that, "more than 1,000" is as useful
    as the exact figure and costs a scan of every matching row. The list's
    ordering is dropped for the count, so the database may stop at the first
    ``CAP`` matches it finds instead of walking them in order. Pages reach the
    newest ``CAP`` rows; older ones are found by filters, search or sorting."""

    CAP = 1_000

    @cached_property
    def _matches(self) -> int:
        return self.object_list.order_by()[: self.CAP + 1].count()

    @property
    def count(self) -> int:
        return min(self._matches, self.CAP)

    @property
    def capped(self) -> bool:
        return self._matches > self.CAP


class FastChangeList(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50
    paginator = CappedCountPaginator

    def action_checkbox(self, obj):
        # The same markup as Django's, written directly: rendering a checkbox
        # widget through the form renderer costs more than the rest of the row.
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select"'
            ' aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )


@admin.register(CustomerIdentity)
class CustomerIdentityAdmin(FastChangeList):
    list_display = ["id", "customer", "kind", "value", "verified_at"]
    search_fields = ["=value"]
    raw_id_fields = ["customer"]


class IdentityInline(admin.TabularInline):
    model = CustomerIdentity
    extra = 0


@admin.register(Customer)
class CustomerAdmin(FastChangeList):
    list_display = ["id", "email", "name", "preferred_language", "created_at"]
    search_fields = ["=email", "name"]
    raw_id_fields = ["user"]
    inlines = [IdentityInline]


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    fields = [
        "author_kind",
        "direction",
        "channel",
        "text",
        "is_internal_note",
        "flags",
    ]
    readonly_fields = fields
    show_change_link = True
    can_delete = False


class EventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ["created_at", "kind", "actor", "actor_kind", "before", "after"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OutboxInline(admin.TabularInline):
    """Outgoing mail on the ticket: failures and bounces are visible here."""

    model = EmailOutbox
    extra = 0
    fields = [
        "kind",
        "to_address",
        "status",
        "attempts",
        "sending_started_at",
        "last_error",
        "smtp_response",
        "sent_at",
        "bounced_at",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(FastChangeList):
    list_display = [
        "id",
        "subject",
        "status",
        "priority",
        "category",
        "channel",
        "customer",
        "assignee",
        "created_at",
    ]
    list_filter = ["status", "priority", "channel"]
    list_select_related = ["customer", "assignee"]
    search_fields = ["subject"]
    search_help_text = (
        "A ticket number, a customer's e-mail address, or words of a subject."
    )
    raw_id_fields = ["customer", "assignee", "offered_to"]
    # State changes go through the state machine, never through this form.
    readonly_fields = [
        "status",
        "version",
        "assignee",
        "offered_to",
        "offer_expires_at",
        "lease_expires_at",
        "reply_token",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
    ]
    inlines = [MessageInline, OutboxInline, EventInline]
    ordering = ["-id"]
    list_per_page = 25

    def get_search_results(self, request, queryset, search_term):
        # One indexed lookup per kind of term instead of an OR over every
        # column, which would scan all tickets.
        term = search_term.strip().removeprefix("#").removeprefix("SD-")
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        if "@" in term:
            return queryset.filter(customer__email=term.lower()), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Message)
class MessageAdmin(FastChangeList):
    list_display = ["id", "ticket", "author_kind", "direction", "channel", "created_at"]
    list_filter = ["author_kind", "direction", "channel", "is_internal_note"]
    search_fields = ["=ticket__id", "=message_id"]
    raw_id_fields = ["ticket", "author_user"]
    ordering = ["-id"]


@admin.register(Attachment)
class AttachmentAdmin(FastChangeList):
    list_display = [
        "id",
        "filename",
        "content_type",
        "size",
        "inline",
        "rejected_reason",
    ]
    search_fields = ["filename"]
    raw_id_fields = ["message"]


@admin.register(TicketEvent)
class TicketEventAdmin(FastChangeList):
    list_display = ["id", "ticket", "kind", "actor", "actor_kind", "created_at"]
    list_filter = ["actor_kind"]
    search_fields = ["=ticket__id", "kind"]
    raw_id_fields = ["ticket", "actor"]
    ordering = ["-id"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InboundEmail)
class InboundEmailAdmin(FastChangeList):
    """Every received email, quarantined and failed ones included."""

    list_display = [
        "id",
        "status",
        "source",
        "from_address",
        "subject",
        "ticket",
        "received_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["=from_address", "=rfc_message_id"]
    raw_id_fields = ["ticket", "message"]
    exclude = ["raw"]
    readonly_fields = [
        f.name for f in InboundEmail._meta.fields if f.name not in ("id", "raw")
    ]
    ordering = ["-id"]
    actions = ["reprocess"]

    @admin.action(description="Process the selected emails again")
    def reprocess(self, request, queryset) -> None:
        for inbound_id in queryset.values_list("pk", flat=True):
            email_services.inbound_email_reprocess(inbound_id=inbound_id)
        self.message_user(request, "Reprocessed.")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(EmailOutbox)
class EmailOutboxAdmin(FastChangeList):
    """Outgoing mail; "uncertain" rows wait for a supervisor's decision."""

    list_display = [
        "id",
        "ticket",
        "kind",
        "to_address",
        "status",
        "attempts",
        "sending_started_at",
        "sent_at",
        "bounced_at",
    ]
    list_filter = ["status", "kind"]
    raw_id_fields = ["ticket", "message"]
    readonly_fields = [f.name for f in EmailOutbox._meta.fields if f.name != "id"]
    ordering = ["-id"]
    actions = ["resend"]

    @admin.action(
        description="Send the selected uncertain or failed mail again",
        permissions=["change"],
    )
    def resend(self, request, queryset) -> None:
        resent = sum(
            outbox.outbox_resend(outbox_id=pk, actor_id=request.user.pk)
            for pk in queryset.values_list("pk", flat=True)
        )
        skipped = queryset.count() - resent
        self.message_user(
            request, f"Queued {resent} again; {skipped} were not uncertain or failed."
        )

    def has_add_permission(self, request) -> bool:
        return False
