from django.contrib import admin

from agents.models import AgentProfile


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "approved", "suspended", "capacity", "rating", "created_at"]
    list_filter = ["approved", "suspended"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
    actions = ["approve", "suspend"]

    @admin.action(description="Approve selected agents")
    def approve(self, request, queryset) -> None:
        queryset.update(approved=True, suspended=False)

    @admin.action(description="Suspend selected agents")
    def suspend(self, request, queryset) -> None:
        queryset.update(suspended=True)
