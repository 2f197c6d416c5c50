from datetime import UTC, datetime

from agents.scoring import Candidate, Need, matches, rank


def _c(uid, *, langs=("en",), cats=(), free=1, last=None, rating=0.0):
    return Candidate(uid, list(langs), list(cats), free, last, rating)


def test_language_must_match_and_empty_categories_mean_any():
    assert matches(_c(1), Need("en", "billing"))
    assert not matches(_c(1), Need("de", "billing"))
    assert not matches(_c(1, cats=["cards"]), Need("en", "billing"))


def test_full_agents_are_not_ranked():
    assert rank([_c(1, free=0)], Need("en", "")) == []


def test_longest_since_last_offer_wins_then_rating():
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = datetime(2026, 1, 2, tzinfo=UTC)
    ranked = rank(
        [
            _c(1, last=late),
            _c(2, last=early, rating=4.0),
            _c(3, last=early, rating=4.9),
            _c(4, last=None),
        ],
        Need("en", ""),
    )
    assert [c.user_id for c in ranked] == [4, 3, 2, 1]
