"""The state machine's compare-and-swap: its conditional UPDATE, compiled
once per shape.

Every transition is ``UPDATE ticket SET … WHERE id = … AND version = …
[AND condition]``. Building that through ``QuerySet.update`` (filter, resolve,
compile) cost a third of the web process's CPU in a pool claim, more than the
round trips. Here the statement's shape, what fixes its SQL text, is read
off the values and the condition:

- each value's field and whether it is NULL (``= NULL`` has no parameter);
- the condition's tree of ``Q`` nodes: connector, negation, each leaf's
  lookup (``exact``, ``gt``, ``gte``, ``lt``, ``lte`` on a field of the
  ticket, or ``exact`` None), and the text of each ``RawSQL``.

Its parameters are what the ORM would pass: every value through its field's
``get_db_prep_save``, every leaf through the field's lookup preparation, in
tree order. The first statement of a shape is compiled by the ORM; the SQL is
kept only if the ORM's parameters equal those worked out here, so a shape
read wrongly is never reused: it stays on ``QuerySet.update``. So do values
that are expressions and conditions with joins, lists or subqueries.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from supportdesk.prepared import PreparedRead
from tickets.models import Ticket
from tickets.states import (
    IllegalTransition,
    TicketConflict,
    TicketNotFound,
    next_status,
)

_LOOKUPS = {"exact", "gt", "gte", "lt", "lte"}
_PLAIN = (str, int, float, Decimal, datetime, date)
_UNCACHEABLE = object()
_PK, _VERSION = Ticket._meta.pk, Ticket._meta.get_field("version")
MAX_SHAPES = 500  # a bound, never reached: the desk has a few dozen transitions
_compiled: dict[tuple, Any] = {}  # shape → SQL, or _UNCACHEABLE


def compare_and_swap(
    ticket_id: int,
    action: str,
    changes: dict[str, Any],
    condition: Q | None,
    condition_error: str,
    current: Ticket | None = None,
) -> tuple[Ticket | None, str, Exception | None]:
    """Read the ticket (or take ``current``), check the action, write it with
    one conditional UPDATE; (ticket as read, target status, error or None).
    A lost race on the version alone is retried against the new row."""
    for _ in range(3):
        try:
            ticket, current = current or _get(ticket_id), None
            target = next_status(ticket.status, action)
        except (TicketNotFound, IllegalTransition) as error:
            return None, "", error
        ticket.updated_at = timezone.now()
        updated = update(
            ticket_id=ticket_id,
            version=ticket.version,
            values={"status": target, "updated_at": ticket.updated_at, **changes},
            condition=condition,
        )
        if updated:
            return ticket, target, None
        if condition is not None and _version(ticket_id) == ticket.version:
            error = TicketConflict(condition_error or f"cannot {action} now")
            return None, "", error
    return None, "", TicketConflict(f"ticket {ticket_id} keeps changing; try again")


def apply_changes(ticket: Ticket, target: str, changes: dict[str, Any]) -> None:
    """Bring the row read before the UPDATE to what the UPDATE wrote.

    Saves re-reading the row; an expression among ``changes`` (rare) is
    only known to the database, so then the row is read back.
    """
    if any(hasattr(value, "resolve_expression") for value in changes.values()):
        ticket.refresh_from_db()
        return
    ticket.status, ticket.version = target, ticket.version + 1
    for field, value in changes.items():
        setattr(ticket, field, value)


def _version(ticket_id: int) -> int | None:
    return Ticket.objects.filter(pk=ticket_id).values_list("version", flat=True).first()


# Every transition reads its ticket first; compiled once (prepared.py).
_TICKET = PreparedRead(lambda: Ticket.objects.filter(pk=0))


def _get(ticket_id: int) -> Ticket:
    ticket = _TICKET.first(ticket_id)
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} does not exist")
    return ticket


def update(
    *, ticket_id: int, version: int, values: dict[str, Any], condition: Q | None
) -> int:
    """Write ``values`` (and version + 1) if the row is still at ``version``
    and meets ``condition``; the number of rows written (0 or 1)."""
    connection = connections[router.db_for_write(Ticket)]
    shape = _shape(values, condition, connection)
    if shape is not None:
        key, set_params, where_params = shape
        # The ORM's order: SET values, the 1 of version + 1, then WHERE.
        params = [
            *set_params,
            *_db_values(
                connection, (_VERSION, 1), (_PK, ticket_id), (_VERSION, version)
            ),
            *where_params,
        ]
        sql = _compiled.get(key)
        if sql is None:
            sql = _compile(_rows(ticket_id, version, condition), values, params)
            if len(_compiled) < MAX_SHAPES:
                _compiled[key] = sql
        if sql is not _UNCACHEABLE:
            with transaction.mark_for_rollback_on_error(connection.alias):
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.rowcount
    rows = _rows(ticket_id, version, condition)
    return rows.update(**values, version=_NEXT)


def _db_values(connection, *pairs) -> list:
    return [f.get_db_prep_value(v, connection, prepared=False) for f, v in pairs]


def _rows(ticket_id: int, version: int, condition: Q | None):
    rows = Ticket.objects.filter(pk=ticket_id, version=version)
    return rows if condition is None else rows.filter(condition)


_NEXT = F("version") + 1


def _compile(rows, values: dict, params: list) -> Any:
    """The ORM's SQL if its parameters are ``params``, else _UNCACHEABLE."""
    query = rows.query.chain(UpdateQuery)
    query.add_update_values({**values, "version": _NEXT})
    compiler = query.get_compiler(rows.db)
    compiler.pre_sql_setup()
    sql, compiled_params = compiler.as_sql()
    if _same(list(compiled_params), params):
        return sql
    return _UNCACHEABLE


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        type(x) is type(y) and x == y for x, y in zip(a, b, strict=True)
    )


def _shape(values: dict, condition: Q | None, connection) -> tuple | None:
    """(shape, SET parameters, condition parameters), or None if not cacheable."""
    meta = Ticket._meta
    fields, set_params = [], []
    for name, value in values.items():
        try:
            field = meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not field.concrete:
            return None
        if value is None:
            fields.append((name, None))
        elif isinstance(value, _PLAIN):
            fields.append((name, type(value)))
            set_params.append(field.get_db_prep_save(value, connection=connection))
        else:
            return None
    where_params: list = []
    tree = None
    if condition is not None:
        tree = _tree(condition, connection, where_params)
        if tree is None:
            return None
    return (connection.alias, tuple(fields), tree), set_params, where_params


def _tree(node: Any, connection, params: list) -> tuple | None:
    """The shape of one node of a condition; its parameters go to ``params``."""
    if isinstance(node, Q):
        children = []
        for child in node.children:
            shape = _tree(child, connection, params)
            if shape is None:
                return None
            children.append(shape)
        return (node.connector, node.negated, tuple(children))
    if isinstance(node, RawSQL):
        params.extend(node.params)
        return ("raw", node.sql, len(node.params))
    if not isinstance(node, tuple):
        return None
    lookup, value = node
    name, _, kind = lookup.partition("__")
    kind = kind or "exact"
    if kind not in _LOOKUPS:
        return None
    try:
        field = Ticket._meta.pk if name == "pk" else Ticket._meta.get_field(name)
    except FieldDoesNotExist:
        return None  # the ORM says what is wrong
    if value is None:
        return (lookup, None) if kind == "exact" else None
    if not isinstance(value, _PLAIN) or not field.concrete:
        return None
    prepared = field.get_prep_value(value)
    params.append(field.get_db_prep_value(prepared, connection, prepared=True))
    return (lookup, type(value))
