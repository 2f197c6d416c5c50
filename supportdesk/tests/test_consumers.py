import pytest
from asgiref.sync import async_to_sync
from channels.exceptions import StopConsumer

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


def test_disconnect_does_not_hop_to_the_sync_thread(monkeypatch):
    async def hop():
        raise AssertionError("disconnect hopped to the sync thread")

    class Closing(Echo):
        async def disconnect(self, code: int) -> None:
            self.closed = code

    monkeypatch.setattr("channels.generic.websocket.aclose_old_connections", hop)
    consumer = Closing()
    with pytest.raises(StopConsumer):
        async_to_sync(consumer.websocket_disconnect)({"code": 1006})
    assert consumer.closed == 1006
