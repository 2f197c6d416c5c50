import pytest
from django.db import IntegrityError, transaction

from supportdesk.bulk_insert import insert_many
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
