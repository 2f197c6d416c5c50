"""Dispatch: offers, accepts, declines, expiry, claims, releases, reclaims.

Every ownership change is one ``tickets.services.ticket_transition`` call: a
single conditional UPDATE that compares the ticket's version, its owner and,
in the same statement, the agent's free capacity. Exactly one of any number
of racing writers changes the row; the others get TicketConflict or
IllegalTransition at once.

Lock order, to keep PostgreSQL free of deadlocks: the agent's profile row
first (it serialises one agent's own claims so the capacity count in the
UPDATE sees the agent's other, just committed, claims), then the ticket, then
the agents' event-log heads (``agents.services``).
"""

import logging
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from agents import capacity, scoring
from agents.capacity import room
from agents.models import (
    AgentProfile,
    OfferDecline,
    OfferOutcome,
    OfferPolicy,
)
from agents.services import AgentUnavailable, agent_mark_not_responding
from tickets.models import AuthorKind, Ticket
from tickets.services import ticket_transition
from tickets.states import (
    HELD,
    Action,
    IllegalTransition,
    Status,
    TicketConflict,
    TicketNotFound,
    sources_of,
)

logger = logging.getLogger(__name__)
MAX_TRIES = 5
_FREE = {"offered_to_id": None, "offer_expires_at": None, "lease_expires_at": None}


@cache
def _stamp_sql() -> str:
    return (
        f"UPDATE {capacity.table(AgentProfile)}"
        " SET last_offer_at = %s WHERE user_id = %s"
    )


def _stamp_offer(agent_id: int, now: datetime) -> None:
    stamp = AgentProfile._meta.get_field("last_offer_at")
    with connection.cursor() as cursor:
        cursor.execute(
            _stamp_sql(), [stamp.get_db_prep_save(now, connection), agent_id]
        )


def _offer_seconds(category: str) -> int:
    policy = OfferPolicy.objects.filter(category=category).first() if category else None
    return policy.offer_seconds if policy else settings.AGENT_OFFER_SECONDS


# --- offers -----------------------------------------------------------------


@transaction.atomic
def ticket_offer(
    *,
    ticket_id: int,
    agent_id: int,
    now: datetime | None = None,
    category: str | None = None,
) -> Ticket:
    """Offer a waiting ticket to an online agent with room, with a countdown.

    ``category`` saves a read when the caller already has the ticket.
    """
    now = now or timezone.now()
    # Locks the agent's row (as capacity.lock_profile does) and stamps the offer in
    # one statement; a lost offer rolls the stamp back with it.
    _stamp_offer(agent_id, now)
    if category is None:
        category = Ticket.objects.values_list("category", flat=True).get(pk=ticket_id)
    expires = now + timedelta(seconds=_offer_seconds(category))
    return ticket_transition(
        ticket_id=ticket_id,
        action=Action.OFFER,
        changes={"offered_to_id": agent_id, "offer_expires_at": expires},
        condition=Q(status=Status.AWAITING_AGENT)
        & room(agent_id, ticket_id, online=True),
        condition_error="agent is offline, paused or full",
    )


def _candidates(
    ticket_id: int, need: scoring.Need, now: datetime
) -> list[scoring.Candidate]:
    fresh = now - timedelta(seconds=settings.AGENT_PRESENCE_TIMEOUT)
    rows = capacity.candidates(
        ticket_id=ticket_id,
        language=need.language,
        category=need.category,
        fresh=fresh,
        limit=MAX_TRIES,
    )
    return [
        scoring.Candidate(
            p.user_id,
            p.languages or [],
            p.categories or [],
            p.capacity - (p.load or 0),
            p.last_offer_at,
            p.rating,
        )
        for p in rows
    ]


def ticket_dispatch(
    *, ticket_id: int, now: datetime | None = None, need: scoring.Need | None = None
) -> int | None:
    """Offer a waiting ticket to the best eligible agent; their id, or None.

    ``need`` (the ticket's language and category) saves a read when the
    caller has the ticket; the offer's UPDATE still checks it is waiting.
    """
    now = now or timezone.now()
    if need is None:
        row = Ticket.objects.filter(pk=ticket_id, status=Status.AWAITING_AGENT)
        values = row.values_list("language", "category").first()
        if values is None:
            return None
        need = scoring.Need(*values)
    for candidate in scoring.rank(_candidates(ticket_id, need, now), need)[:MAX_TRIES]:
        try:
            ticket_offer(
                ticket_id=ticket_id,
                agent_id=candidate.user_id,
                now=now,
                category=need.category,
            )
        except TicketConflict:
            continue  # that agent filled up or left meanwhile: next one
        except IllegalTransition:
            return None  # someone else offered or claimed it first
        return candidate.user_id
    return None


def agent_fill(*, agent_id: int) -> int | None:
    """Offer the most urgent waiting ticket this agent may take; its id."""
    fresh = timezone.now() - timedelta(seconds=settings.AGENT_PRESENCE_TIMEOUT)
    profile = capacity.present_profile(agent_id, fresh)
    if profile is None:
        return None
    for ticket in capacity.fillable(profile, MAX_TRIES):
        try:
            ticket_offer(
                ticket_id=ticket.pk, agent_id=agent_id, category=ticket.category
            )
        except TicketConflict:
            return None  # the agent is full or went away
        except IllegalTransition:
            continue  # taken meanwhile
        return ticket.pk
    return None


def dispatch_quietly(ticket_id: int, need: scoring.Need | None = None) -> None:
    """On-commit hook: a failed dispatch is retried by the sweeper."""
    try:
        ticket_dispatch(ticket_id=ticket_id, need=need)
    except Exception:
        logger.exception("dispatching ticket %s failed", ticket_id)


def fill_quietly(agent_id: int) -> None:
    try:
        agent_fill(agent_id=agent_id)
    except Exception:
        logger.exception("offering work to agent %s failed", agent_id)


@transaction.atomic
def offer_accept(*, ticket_id: int, agent_id: int) -> Ticket:
    """The offered agent takes the ticket, before the countdown ends."""
    capacity.lock_profile(agent_id)
    return ticket_transition(
        ticket_id=ticket_id,
        action=Action.ACCEPT,
        actor_id=agent_id,
        actor_kind=AuthorKind.AGENT,
        changes={"assignee_id": agent_id, **_FREE},
        condition=Q(offered_to_id=agent_id, offer_expires_at__gt=timezone.now())
        & room(agent_id, ticket_id, online=False),
        condition_error="this offer is no longer yours",
    )


@transaction.atomic
def offer_decline(*, ticket_id: int, agent_id: int) -> Ticket:
    """Turn an offer down; the ticket goes to the next agent, never back here."""
    capacity.lock_profile(agent_id)
    ticket = ticket_transition(
        ticket_id=ticket_id,
        action=Action.DECLINE,
        actor_id=agent_id,
        actor_kind=AuthorKind.AGENT,
        changes={"offered_to_id": None, "offer_expires_at": None},
        condition=Q(offered_to_id=agent_id),
        condition_error="this offer is not yours",
    )
    _remember(ticket_id, agent_id, OfferOutcome.DECLINED)
    return ticket


def _remember(ticket_id: int, agent_id: int, outcome: str) -> None:
    OfferDecline.objects.get_or_create(
        ticket_id=ticket_id, user_id=agent_id, defaults={"outcome": outcome}
    )


@transaction.atomic
def offer_expire(*, ticket_id: int, now: datetime, lapsed: bool = True) -> bool:
    """End an offer whose countdown ran out (or whose agent left).

    An agent who let the offer lapse stops getting offers until they re-arm.
    """
    agent_id = (
        Ticket.objects.filter(pk=ticket_id, status=Status.OFFERED)
        .values_list("offered_to_id", flat=True)
        .first()
    )
    if agent_id is None:
        return False
    capacity.lock_profile(agent_id)
    due = Q(offer_expires_at__lte=now) if lapsed else Q()
    try:
        ticket_transition(
            ticket_id=ticket_id,
            action=Action.EXPIRE,
            changes={"offered_to_id": None, "offer_expires_at": None},
            condition=Q(offered_to_id=agent_id) & due,
        )
    except (TicketConflict, IllegalTransition):
        return False  # accepted or declined at the last moment
    if lapsed:
        _remember(ticket_id, agent_id, OfferOutcome.EXPIRED)
        agent_mark_not_responding(user_id=agent_id)
    return True


def offers_withdraw(*, agent_id: int, now: datetime) -> int:
    """Give an offline agent's pending offers to the next agents."""
    pending = Ticket.objects.filter(offered_to_id=agent_id, status=Status.OFFERED)
    ids = list(pending.values_list("pk", flat=True))
    return sum(offer_expire(ticket_id=pk, now=now, lapsed=False) for pk in ids)


# --- claims -------------------------------------------------------------------


def _claim_changes(agent_id: int) -> dict:
    return {"assignee_id": agent_id, **_FREE}


def _claim(agent_id: int, ticket_id: int, current: Ticket | None = None) -> Ticket:
    """The claim itself; the caller's transaction holds the agent's lock.

    ``current`` is the ticket as the caller read and locked it.
    """
    return ticket_transition(
        ticket_id=ticket_id,
        action=Action.CLAIM,
        actor_id=agent_id,
        actor_kind=AuthorKind.AGENT,
        changes=_claim_changes(agent_id),
        condition=(Q(status=Status.AWAITING_AGENT) | Q(offered_to_id=agent_id))
        & room(agent_id, ticket_id, online=False),
        condition_error="offered to another agent, or you are at capacity",
        current=current,
    )


def _claim_one(agent_id: int, ticket_id: int) -> Ticket:
    # The losers of a race mostly arrive after the winner committed: one
    # read refuses them without a transaction or the agent's lock. It only
    # ever refuses; the conditional UPDATE still decides who wins.
    status = Ticket.objects.filter(pk=ticket_id).values_list("status", flat=True)
    status = status.first()
    if status is None:
        raise TicketNotFound(f"ticket {ticket_id} does not exist")
    if status not in sources_of(Action.CLAIM):
        raise IllegalTransition(Action.CLAIM, status)
    return _claim_locked(agent_id, ticket_id)


@transaction.atomic
def _claim_locked(agent_id: int, ticket_id: int) -> Ticket:
    capacity.lock_profile(agent_id)
    return _claim(agent_id, ticket_id)


@transaction.atomic
def _claim_next(agent_id: int) -> Ticket | None:
    profile = capacity.lock_profile(agent_id)
    if profile is None:
        raise AgentUnavailable("this account may not take tickets")
    ticket = capacity.next_waiting(profile)
    if ticket is None:
        return None
    return _claim(agent_id, ticket.pk, current=ticket)


def ticket_claim(*, agent_id: int, ticket_id: int | None = None) -> Ticket | None:
    """Claim a specific ticket, or the next best one from the pool (or None)."""
    if ticket_id is not None:
        return _claim_one(agent_id, ticket_id)
    for _ in range(MAX_TRIES):
        try:
            return _claim_next(agent_id)
        except (TicketConflict, IllegalTransition):
            continue  # another agent got that one: take the next
    return None


@transaction.atomic
def ticket_release(*, ticket_id: int, agent_id: int) -> Ticket:
    """Hand a held ticket back to the pool; it is not offered back to you."""
    ticket = ticket_transition(
        ticket_id=ticket_id,
        action=Action.RELEASE,
        actor_id=agent_id,
        actor_kind=AuthorKind.AGENT,
        changes={"assignee_id": None, "lease_expires_at": None},
        condition=Q(assignee_id=agent_id),
        condition_error="you do not hold this ticket",
    )
    _remember(ticket_id, agent_id, OfferOutcome.WITHDRAWN)
    return ticket


@transaction.atomic
def ticket_reclaim(*, ticket_id: int, now: datetime) -> bool:
    """Take a ticket back from an agent whose lease ran out."""
    agent_id = (
        Ticket.objects.filter(pk=ticket_id, status__in=HELD, lease_expires_at__lte=now)
        .values_list("assignee_id", flat=True)
        .first()
    )
    if agent_id is None:
        return False
    capacity.lock_profile(agent_id)
    try:
        ticket_transition(
            ticket_id=ticket_id,
            action=Action.RECLAIM,
            changes={"assignee_id": None, "lease_expires_at": None},
            condition=Q(assignee_id=agent_id, lease_expires_at__lte=now),
        )
    except (TicketConflict, IllegalTransition):
        return False  # the agent came back in time
    return True


@transaction.atomic
def ticket_reassign(*, ticket_id: int, agent_id: int, supervisor_id: int) -> Ticket:
    """A supervisor gives a queued or held ticket to an agent with room."""
    capacity.lock_profile(agent_id)
    return ticket_transition(
        ticket_id=ticket_id,
        action=Action.REASSIGN,
        actor_id=supervisor_id,
        actor_kind="supervisor",
        changes=_claim_changes(agent_id),
        condition=room(agent_id, ticket_id, online=False),
        condition_error="that agent may not work or is at capacity",
    )
