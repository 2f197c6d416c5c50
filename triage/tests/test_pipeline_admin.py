"""Supervisors' admin pages for triage."""

from django.urls import reverse

from conftest import make_ticket
from triage.models import CategoryPolicy, KnowledgeArticle, TriageResult


def test_supervisor_lists_and_edits_triage_tables(client, supervisor, customer):
    supervisor.is_superuser = True
    supervisor.save()
    make_ticket(customer.customer)
    client.force_login(supervisor)
    result = TriageResult.objects.get()
    policy = CategoryPolicy.objects.get(category="card_arrival")
    article = KnowledgeArticle.objects.first()

    pages = [
        reverse("admin:triage_triageresult_changelist"),
        reverse("admin:triage_triageresult_change", args=[result.pk]),
        reverse("admin:triage_categorypolicy_changelist"),
        reverse("admin:triage_categorypolicy_change", args=[policy.pk]),
        reverse("admin:triage_knowledgearticle_changelist"),
        reverse("admin:triage_knowledgearticle_change", args=[article.pk]),
    ]
    assert [client.get(url).status_code for url in pages] == [200] * 6
    assert client.get(reverse("admin:triage_triageresult_add")).status_code == 403
