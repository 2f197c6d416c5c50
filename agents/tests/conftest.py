import pytest

from agents import selectors


@pytest.fixture(autouse=True)
def fresh_pool_counts():
    """Each test sees its own queue counts, not a snapshot from the last one."""
    selectors._counts_cache[:] = [0.0, {}]
