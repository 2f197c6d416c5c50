import pytest

from tickets.states import (
    Action,
    IllegalTransition,
    Status,
    allowed_actions,
    next_status,
)


def test_claimed_ticket_can_be_replied_to():
    assert next_status(Status.CLAIMED, Action.REPLY) == Status.WAITING_ON_CUSTOMER


def test_offer_cannot_be_accepted_twice():
    after = next_status(Status.OFFERED, Action.ACCEPT)
    with pytest.raises(
        IllegalTransition, match="cannot accept a ticket that is claimed"
    ):
        next_status(after, Action.ACCEPT)


def test_unknown_action_is_illegal():
    with pytest.raises(IllegalTransition):
        next_status(Status.NEW, "teleport")


def test_closed_ticket_allows_nothing():
    assert allowed_actions(Status.CLOSED) == set()


def test_resolved_ticket_reopens_into_triage():
    assert next_status(Status.RESOLVED, Action.REOPEN) == Status.TRIAGING
