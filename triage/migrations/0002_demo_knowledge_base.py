"""Demo knowledge base and category policies, so drafts are useful out of the box.

Every policy starts with auto-send off: the AI answers alone only where a
supervisor decided it is measured to be good.

Supervisors edit or deactivate these in the admin; the data lives in
``triage/fixtures/demo_kb.json`` (also used by ``triage_classify`` when the
table is empty).
"""

import json
from pathlib import Path

from django.db import migrations

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "demo_kb.json"


def load(apps, schema_editor):
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    Article = apps.get_model("triage", "KnowledgeArticle")
    Policy = apps.get_model("triage", "CategoryPolicy")
    if not Article.objects.exists():
        Article.objects.bulk_create(
            Article(
                title=a["title"],
                body=a["body"],
                language=a["language"],
                category=a.get("category", ""),
                is_macro=a.get("is_macro", False),
            )
            for a in data["articles"]
        )
    for p in data["policies"]:
        # Auto-send stays off until a supervisor turns it on (or the demo
        # seeding does, see triage.services.demo_auto_send_enable).
        fields = {k: v for k, v in p.items() if k != "demo_auto_send"}
        Policy.objects.get_or_create(category=p["category"], defaults=fields)


def unload(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("triage", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
