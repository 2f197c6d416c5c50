from types import SimpleNamespace

import pytest

from supportdesk import inprocess
from triage import warmup
from triage.ml import classifier


@pytest.fixture
def warmed(monkeypatch):
    calls = []
    monkeypatch.setattr(warmup, "_warm", calls.append)
    monkeypatch.setattr(inprocess, "_started", False)
    return calls


def test_a_solo_worker_loads_the_models_once_before_taking_work(warmed):
    # The solo pool sends both signals, in this order, before taking work.
    warmup._on_worker_init(sender=SimpleNamespace(pool_cls="solo"))
    warmup._on_worker_process_init()
    assert warmed == ["a pool process"]


def test_a_thread_pool_worker_loads_the_models_in_its_own_process(warmed):
    warmup._on_worker_init(sender=SimpleNamespace(pool_cls="threads"))
    assert warmed == ["the worker"]


def test_a_prefork_worker_leaves_it_to_each_pool_process(warmed):
    warmup._on_worker_init(sender=SimpleNamespace(pool_cls="prefork"))
    assert warmed == []
    warmup._on_worker_process_init()
    assert warmed == ["a pool process"]


def test_the_embedded_worker_keeps_loading_on_first_use(warmed, monkeypatch):
    monkeypatch.setattr(inprocess, "_started", True)
    warmup._on_worker_init(sender=SimpleNamespace(pool_cls="solo"))
    warmup._on_worker_process_init()
    assert warmed == []


def test_warm_up_loads_the_intent_model():
    warmup.warm_up()
    assert classifier._load.cache_info().currsize >= 1
