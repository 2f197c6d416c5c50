from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from tickets.api import views

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("tickets/", views.TicketListCreate.as_view(), name="ticket-list"),
    path(
        "tickets/<int:ticket_id>/", views.TicketDetail.as_view(), name="ticket-detail"
    ),
    path(
        "tickets/<int:ticket_id>/transitions/",
        views.TicketTransition.as_view(),
        name="ticket-transition",
    ),
    path(
        "tickets/<int:ticket_id>/messages/",
        views.MessageListCreate.as_view(),
        name="ticket-messages",
    ),
    path(
        "tickets/<int:ticket_id>/events/",
        views.TicketEventList.as_view(),
        name="ticket-events",
    ),
]
