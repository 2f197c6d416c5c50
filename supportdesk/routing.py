"""Websocket URL routes; each app contributes its own list."""

from django.urls import path

from agents.routing import websocket_urlpatterns as agent_urlpatterns
from tickets.consumers import ChatConsumer, TicketWatchConsumer

websocket_urlpatterns = [
    path("ws/tickets/<int:ticket_id>/", TicketWatchConsumer.as_asgi()),
    path("ws/chat/<str:token>/", ChatConsumer.as_asgi()),
    *agent_urlpatterns,
]
