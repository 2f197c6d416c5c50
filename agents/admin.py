from django.contrib import admin

from agents.models import AgentProfile, Earning, OfferPolicy


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "status",
        "approved",
        "suspended",
        "capacity",
        "lease_grace_seconds",
        "rating",
        "last_seen_at",
    ]
    list_filter = ["status", "approved", "suspended"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
    # Presence is written by the consoles and the sweeper, never by hand.
    readonly_fields = [
        "status",
        "connections",
        "last_seen_at",
        "disconnected_at",
        "last_offer_at",
    ]
    actions = ["approve", "suspend"]

    @admin.action(description="Approve selected agents")
    def approve(self, request, queryset) -> None:
        queryset.update(approved=True, suspended=False)

    @admin.action(description="Suspend selected agents")
    def suspend(self, request, queryset) -> None:
        queryset.update(suspended=True)


@admin.register(OfferPolicy)
class OfferPolicyAdmin(admin.ModelAdmin):
    list_display = ["category", "offer_seconds"]


@admin.register(Earning)
class EarningAdmin(admin.ModelAdmin):
    list_display = ["user", "ticket", "amount_cents", "reason", "created_at"]
    list_filter = ["reason"]
    raw_id_fields = ["user", "ticket"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a ledger is appended to, never edited
