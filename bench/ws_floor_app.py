"""The ASGI app ``bench.ws_floor_bench`` serves: a console socket that does
only what every console action must, and no desk logic.

Each text frame is answered with a ``reply`` frame. With ``FLOOR_STATEMENTS``
= N > 0, the answer waits for the agent console's own path to the database
(``agents.consumer_actions.db``: a hop to the worker thread pool), where one
transaction runs N trivial statements and, as a claim does, sends one notice
to the console's group after commit (``supportdesk.realtime``), which the
consumer forwards as a second frame. With 0 it answers at once.
"""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.urls import path  # noqa: E402

from agents.consumer_actions import db  # noqa: E402
from supportdesk import realtime  # noqa: E402
from supportdesk.consumers import DeskConsumer  # noqa: E402

STATEMENTS = int(os.environ.get("FLOOR_STATEMENTS", "0"))


def work(group: str) -> dict:
    with transaction.atomic():
        with connection.cursor() as cursor:
            for _ in range(STATEMENTS):
                cursor.execute("SELECT 1 WHERE 1 = %s", [1])
                cursor.fetchone()
        notice = {"type": "floor.event", "event": {"type": "ticket.updated"}}
        realtime.send_on_commit([(group, notice)])
    return {"ticket": {"id": 1}}


class FloorConsumer(DeskConsumer):
    async def connect(self) -> None:
        self.group = f"floor-{self.channel_name.rpartition('!')[2]}"
        if STATEMENTS:
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        content = json.loads(text_data)
        reply = await db(work)(self.group) if STATEMENTS else {}
        await self.send_json({"type": "reply", "re": content.get("id"), **reply})

    async def floor_event(self, message: dict) -> None:
        await self.send_json(message["event"])


application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),  # /healthz, to know the workers are up
        "websocket": URLRouter([path("ws/floor/", FloorConsumer.as_asgi())]),
    }
)
