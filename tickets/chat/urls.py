from django.urls import path

from tickets.chat import views

app_name = "chat"
urlpatterns = [
    path("", views.chat_page, name="page"),
    path("api/sessions", views.session_start, name="session-start"),
    path("api/messages", views.messages, name="messages"),
    path("api/escalate", views.escalate, name="escalate"),
    path("api/contact", views.contact, name="contact"),
    path("api/status", views.status, name="status"),
]
