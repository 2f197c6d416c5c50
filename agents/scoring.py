"""Who gets the next offer, and which ticket an agent should take next.

Pure functions over plain values, no Django: the dispatcher loads candidates
with SQL (presence, capacity, past declines) and asks this module to rank them.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Candidate:
    user_id: int
    languages: Sequence[str]
    categories: Sequence[str]
    free: int  # capacity minus held and offered tickets
    last_offer_at: datetime | None
    rating: float


@dataclass(frozen=True)
class Need:
    """What a ticket asks of its agent."""

    language: str
    category: str


def matches(candidate: Candidate, need: Need) -> bool:
    """Speaks the language and handles the category (empty list: any)."""
    if need.language and need.language not in candidate.languages:
        return False
    if need.category and candidate.categories:
        return need.category in candidate.categories
    return True


def _fairness_key(candidate: Candidate) -> tuple:
    # Never offered sorts first; then longest since the last offer; then
    # the better rating; the id keeps the order total and repeatable.
    waited = candidate.last_offer_at.timestamp() if candidate.last_offer_at else 0.0
    return (waited, -candidate.rating, candidate.user_id)


def rank(candidates: Iterable[Candidate], need: Need) -> list[Candidate]:
    """Eligible candidates, best first."""
    eligible = [c for c in candidates if c.free > 0 and matches(c, need)]
    return sorted(eligible, key=_fairness_key)
