import pytest
from django.db import IntegrityError, transaction

from supportdesk.bulk_insert import FEW, insert_many, insert_one, insert_rows
from tickets.models import InboundEmail


def _row(key: str, raw: bytes = b"raw \x00\xff bytes") -> InboundEmail:
    return InboundEmail(
        dedup_key=key, raw=raw, content_hash="h", source="test", flags={"k": [1]}
    )


@pytest.mark.django_db
def test_rows_get_their_keys_in_order_and_read_back_unchanged():
    rows = insert_many(InboundEmail, [_row("a"), _row("b", b"\\N\t\n")])

    assert [r.pk for r in rows] == sorted(r.pk for r in rows)
    stored = {r.dedup_key: r for r in InboundEmail.objects.all()}
    assert [stored["a"].pk, stored["b"].pk] == [r.pk for r in rows]
    assert bytes(stored["b"].raw) == b"\\N\t\n"
    assert stored["a"].flags == {"k": [1]}
    assert stored["a"].received_at is not None
    assert not rows[0]._state.adding


@pytest.mark.django_db
def test_a_unique_key_already_taken_is_an_integrity_error():
    insert_many(InboundEmail, [_row("a")])

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(InboundEmail, [_row("b"), _row("a")])
    assert InboundEmail.objects.count() == 1


@pytest.mark.django_db
def test_insert_one_stores_what_save_would_and_sets_the_key():
    row = insert_one(_row("one", b"\x00bytes"))

    assert row.pk is not None and not row._state.adding
    stored = InboundEmail.objects.get(pk=row.pk)
    assert (stored.dedup_key, bytes(stored.raw)) == ("one", b"\x00bytes")
    assert stored.flags == {"k": [1]}
    assert stored.received_at == row.received_at  # pre_save ran (auto_now_add)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_one(_row("one"))


@pytest.mark.django_db
def test_insert_one_of_a_model_keyed_by_another_row_falls_back_to_the_orm():
    from agents.models import AgentEventLog
    from conftest import UserFactory

    user = UserFactory(username="ana")
    log = insert_one(AgentEventLog(user=user, head=7))

    assert log.pk == user.pk
    assert AgentEventLog.objects.get(pk=user.pk).head == 7


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, FEW + 1])
def test_insert_rows_gives_each_row_its_own_key_in_order(count):
    rows = insert_rows([_row(f"k{i}") for i in range(count)])

    stored = dict(InboundEmail.objects.values_list("dedup_key", "pk"))
    assert [stored[f"k{i}"] for i in range(count)] == [r.pk for r in rows]
