"""triage_classify, triage_eval and triage_train."""

import io
import json
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import make_ticket
from tickets import services as ticket_services
from tickets.models import AuthorKind
from tickets.states import Action
from triage import selectors
from triage.backends.base import TriageOutput
from triage.management.commands import triage_classify, triage_eval
from triage.models import KnowledgeArticle


class KeywordBackend:
    """Category = the first word of the text; records what it was given."""

    name = "keyword"

    def __init__(self):
        self.seen = []

    def analyse(self, message):
        self.seen.append(message)
        word = message.text.split()[0].lower()
        return TriageOutput(
            category=word,
            confidence=0.9,
            draft=f"About {word}.",
            cited=[str(message.kb[0]["id"])] if message.kb else [],
            backend=self.name,
        )


@pytest.fixture
def backend(monkeypatch):
    keyword = KeywordBackend()
    for module in (triage_classify, triage_eval):
        monkeypatch.setattr(module, "get_backend", lambda: keyword)
    return keyword


def run(command, *args, stdin=""):
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(command, *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue().splitlines()


def test_classify_writes_one_line_per_input_and_survives_bad_lines(db, backend):
    lines = run(
        "triage_classify",
        stdin='{"text": "refund please", "channel": "email"}\n'
        "not json\n"
        '{"channel": "chat"}\n'
        '{"text": "card", "channel": "fax"}\n'
        '{"text": "card gone"}\n',
    )

    rows = [json.loads(line) for line in lines]
    assert len(rows) == 5
    assert rows[0]["category"] == "refund" and rows[0]["route"] == "human"
    assert set(rows[0]) >= {
        "priority", "language", "sentiment", "wants_human", "out_of_scope",
        "risk_flags", "confidence", "draft",
    }  # fmt: skip
    assert [r["line"] for r in rows[1:4]] == [2, 3, 4]
    assert all("error" in r for r in rows[1:4])
    assert rows[4]["category"] == "card"
    assert backend.seen[0].channel == "email"


def test_classify_uses_the_demo_knowledge_base_when_the_table_is_empty(db, backend):
    KnowledgeArticle.objects.all().delete()
    run("triage_classify", stdin='{"text": "card"}\n')

    assert backend.seen[0].kb[0]["id"] == "demo1"


def test_classify_uses_the_knowledge_base_in_the_database(db, backend):
    run("triage_classify", stdin='{"text": "card"}\n')

    assert str(backend.seen[0].kb[0]["id"]).startswith("kb")


def test_eval_prints_metrics_and_confusions(db, backend, tmp_path):
    path = tmp_path / "eval.csv"
    path.write_text(
        "text,category\nrefund now,refund\ncard lost,card\ncard late,refund\n"
        "card again,card\n"
    )

    lines = run("triage_eval", "--csv", str(path))

    values = {line.split()[0]: line.split()[1:] for line in lines}
    assert values["accuracy"] == ["75.00", "%"]
    assert values["macro_f1"] == [f"{100 * (2 / 3 + 0.8) / 2:.2f}", "%"]
    assert values["p95_ms"][1] == "ms" and values["p50_ms"][1] == "ms"
    assert "confused refund -> card 1" in lines


def test_eval_rejects_a_csv_without_the_columns(db, backend, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("message,label\nx,y\n")

    with pytest.raises(CommandError, match="text,category"):
        run("triage_eval", "--csv", str(path))


def test_percentiles_interpolate():
    assert triage_eval.percentile([1, 2, 3, 4], 50) == 2.5
    assert triage_eval.percentile([5.0], 95) == 5.0


def resolved_with_correction(customer, agent, text, category):
    ticket = make_ticket(customer, subject="(no subject)", text=text)
    ticket_services.ticket_set_fields(
        ticket_id=ticket.pk,
        fields={"category": category},
        actor_id=agent.pk,
        actor_kind=AuthorKind.AGENT,
    )
    ticket_services.ticket_transition(ticket_id=ticket.pk, action=Action.RESOLVE)
    return ticket


def test_agent_corrections_on_resolved_tickets_are_training_labels(customer, agent):
    resolved_with_correction(
        customer.customer, agent, "where is my card", "agent_label"
    )
    open_ticket = make_ticket(customer.customer, text="still open")
    ticket_services.ticket_set_fields(
        ticket_id=open_ticket.pk,
        fields={"category": "x"},
        actor_id=agent.pk,
        actor_kind=AuthorKind.AGENT,
    )

    assert selectors.desk_training_examples() == [("where is my card", "agent_label")]


def test_train_saves_a_model_from_desk_labels(customer, agent, tmp_path):
    classifier = pytest.importorskip("triage.ml.classifier", reason="triage-core")
    for i in range(3):
        resolved_with_correction(
            customer.customer, agent, f"card missing {i}", "label_a"
        )
        resolved_with_correction(customer.customer, agent, f"refund me {i}", "label_b")
    path = tmp_path / "model.joblib"

    lines = run("triage_train", "--no-seed", "--no-embeddings", "--output", str(path))

    assert "desk 6 examples" in lines
    model = classifier.load(path)
    assert model.classes == ["label_a", "label_b"]
    assert model.predict("refund me please").category == "label_b"


def test_train_refuses_without_two_categories(db, tmp_path):
    pytest.importorskip("triage.ml.classifier", reason="triage-core")
    with pytest.raises(CommandError, match="two categories"):
        run("triage_train", "--no-seed", "--dry-run")
