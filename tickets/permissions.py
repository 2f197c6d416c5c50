"""Which state-machine actions each role may ask for through the API.

Everything else (triage, offer, expire, reclaim, ...) is done by the desk
itself and never accepted from a client.
"""

from tickets.states import Action

CUSTOMER_ACTIONS = frozenset({Action.ESCALATE, Action.RESOLVE})
AGENT_ACTIONS = frozenset(
    {Action.ACCEPT, Action.DECLINE, Action.CLAIM, Action.RELEASE, Action.RESOLVE}
)
SUPERVISOR_ACTIONS = AGENT_ACTIONS | {Action.CLOSE, Action.REASSIGN, Action.ESCALATE}
