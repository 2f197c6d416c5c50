import pytest
from asgiref.sync import async_to_sync

from supportdesk.consumers import DeskConsumer


class Echo(DeskConsumer):
    async def desk_event(self, message: dict) -> None:
        self.seen = message["event"]


def test_dispatch_calls_the_handler_without_a_thread_hop(monkeypatch):
    async def hop():
        raise AssertionError("dispatch hopped to the sync thread")

    monkeypatch.setattr("channels.consumer.aclose_old_connections", hop)
    consumer = Echo()
    async_to_sync(consumer.dispatch)({"type": "desk.event", "event": {"type": "x"}})
    assert consumer.seen == {"type": "x"}


def test_dispatch_refuses_a_message_without_a_handler():
    with pytest.raises(ValueError, match="nope"):
        async_to_sync(Echo().dispatch)({"type": "nope"})
