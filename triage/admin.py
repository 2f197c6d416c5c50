"""Supervisors edit the knowledge base, macros and per-category policies, and
read every triage result (read-only: the record of what the AI did)."""

from django.contrib import admin

from triage.models import CategoryPolicy, KnowledgeArticle, TriageResult


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "language", "is_macro", "active", "updated_at"]
    list_filter = ["active", "is_macro", "language"]
    list_editable = ["active"]
    search_fields = ["title", "body", "category"]
    actions = ["activate", "deactivate"]

    @admin.action(description="Activate selected articles")
    def activate(self, request, queryset):
        queryset.update(active=True)

    @admin.action(description="Deactivate selected articles")
    def deactivate(self, request, queryset):
        queryset.update(active=False)


@admin.register(CategoryPolicy)
class CategoryPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "category",
        "auto_send",
        "confidence_threshold",
        "refund_allowed",
        "credit_allowed",
        "offer_countdown_seconds",
    ]
    list_editable = ["auto_send", "confidence_threshold"]
    list_filter = ["auto_send"]
    search_fields = ["category"]


@admin.register(TriageResult)
class TriageResultAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50
    list_display = [
        "id",
        "ticket_id",
        "message_id",
        "backend",
        "category",
        "priority",
        "language",
        "confidence",
        "route",
        "latency_ms",
        "failed",
        "created_at",
    ]
    list_select_related = False
    list_filter = ["route", "backend", "priority", "wants_human", "out_of_scope"]
    search_fields = ["=ticket__id", "category"]
    date_hierarchy = "created_at"

    @admin.display(boolean=True)
    def failed(self, obj: TriageResult) -> bool:
        return obj.failed

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
