"""The ticket state machine: the one place that says which transitions exist.

Pure data and functions, no Django: services ask it whether an action is legal
from the ticket's current status and which status follows.
"""

from enum import StrEnum


class TicketConflict(Exception):
    """Someone else changed the ticket first; the caller lost the race."""


class TicketNotFound(Exception):
    pass


class Status(StrEnum):
    NEW = "new"
    TRIAGING = "triaging"
    AWAITING_AGENT = "awaiting_agent"
    AUTO_ANSWERED = "auto_answered"
    OFFERED = "offered"
    CLAIMED = "claimed"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(StrEnum):
    TRIAGE = "triage"  # triage starts on a new message
    ROUTE_HUMAN = "route_human"  # triage done (or failed): human queue
    AUTO_ANSWER = "auto_answer"  # triage sent a safe answer itself
    ESCALATE = "escalate"  # customer wants a human after an AI answer
    OFFER = "offer"
    DECLINE = "decline"
    EXPIRE = "expire"
    ACCEPT = "accept"
    CLAIM = "claim"  # pulled from the pool without an offer
    RELEASE = "release"  # agent hands the ticket back
    RECLAIM = "reclaim"  # lease ran out: back to the pool
    REASSIGN = "reassign"  # supervisor moves a held ticket to another agent
    REPLY = "reply"  # agent sent a reply
    CUSTOMER_REPLY = "customer_reply"  # customer wrote on a held ticket
    RESOLVE = "resolve"
    REOPEN = "reopen"  # customer wrote after resolution
    CLOSE = "close"


S = Status
# An agent holds the ticket: it counts against the agent's capacity.
HELD = (S.CLAIMED, S.WAITING_ON_CUSTOMER)
_QUEUED = (S.AWAITING_AGENT, S.OFFERED)

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[Action, tuple[tuple[Status, ...], Status]] = {
    Action.TRIAGE: ((S.NEW, S.AUTO_ANSWERED), S.TRIAGING),
    Action.ROUTE_HUMAN: ((S.TRIAGING,), S.AWAITING_AGENT),
    Action.AUTO_ANSWER: ((S.TRIAGING,), S.AUTO_ANSWERED),
    Action.ESCALATE: ((S.NEW, S.TRIAGING, S.AUTO_ANSWERED), S.AWAITING_AGENT),
    Action.OFFER: ((S.AWAITING_AGENT,), S.OFFERED),
    Action.DECLINE: ((S.OFFERED,), S.AWAITING_AGENT),
    Action.EXPIRE: ((S.OFFERED,), S.AWAITING_AGENT),
    Action.ACCEPT: ((S.OFFERED,), S.CLAIMED),
    Action.CLAIM: (_QUEUED, S.CLAIMED),
    Action.RELEASE: (HELD, S.AWAITING_AGENT),
    Action.RECLAIM: (HELD, S.AWAITING_AGENT),
    Action.REASSIGN: (HELD + _QUEUED, S.CLAIMED),
    Action.REPLY: (HELD, S.WAITING_ON_CUSTOMER),
    Action.CUSTOMER_REPLY: (HELD, S.CLAIMED),
    Action.RESOLVE: (
        (S.AUTO_ANSWERED, S.AWAITING_AGENT) + HELD,
        S.RESOLVED,
    ),
    Action.REOPEN: ((S.RESOLVED,), S.TRIAGING),
    Action.CLOSE: ((S.RESOLVED, S.AUTO_ANSWERED), S.CLOSED),
}

OPEN_STATUSES = frozenset(S) - {S.RESOLVED, S.CLOSED}
QUEUE_STATUSES = frozenset(_QUEUED)


class IllegalTransition(Exception):
    """The action is not allowed from the ticket's current status."""

    def __init__(self, action: str, status: str):
        self.action = action
        self.status = status
        allowed = ", ".join(sorted(allowed_actions(status))) or "none"
        super().__init__(
            f"cannot {action} a ticket that is {status} (allowed: {allowed})"
        )


def next_status(status: str, action: str) -> Status:
    """The status after ``action``, or IllegalTransition."""
    try:
        sources, target = TRANSITIONS[Action(action)]
    except ValueError:
        raise IllegalTransition(action, status) from None
    if status not in sources:
        raise IllegalTransition(action, status)
    return target


def sources_of(action: str) -> tuple[Status, ...]:
    return TRANSITIONS[Action(action)][0]


def allowed_actions(status: str) -> set[str]:
    return {str(a) for a, (sources, _) in TRANSITIONS.items() if status in sources}
