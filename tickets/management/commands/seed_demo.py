"""Create demo agents, customers and tickets, and print fresh logins."""

import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from agents.models import AgentProfile
from supportdesk.celery import app as celery_app
from tickets import services
from tickets.models import Customer, Ticket
from triage import services as triage_services

AGENTS = [
    ("alice", ["en", "sv"], []),
    ("bruno", ["en", "de", "fr"], []),
    ("carmen", ["es", "en"], ["card_arrival", "card_payment_fee_charged"]),
]
CUSTOMERS = [
    (
        "erik@example.com",
        "Erik Svensson",
        "sv",
        "Mitt kort har inte kommit",
        "Hej, jag beställde ett kort för två veckor sedan och det har inte kommit.",
    ),
    (
        "jane@example.com",
        "Jane Doe",
        "en",
        "Card stolen",
        "My card was stolen this morning, please block it right away!",
    ),
    (
        "lukas@example.com",
        "Lukas Weber",
        "de",
        "Überweisung fehlt",
        "Meine Überweisung von gestern ist noch nicht angekommen.",
    ),
    (
        "ana@example.com",
        "Ana García",
        "es",
        "Quiero hablar con una persona",
        "No entiendo el cargo en mi cuenta, quiero hablar con una persona.",
    ),
]


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print logins with new passwords."

    def handle(self, *args, **options) -> None:
        # This process has no worker: triage the demo tickets right here
        # instead of queueing tasks that nothing in this process would run.
        celery_app.conf.task_always_eager = True
        # The demo shows the AI answering the safe, easy categories alone.
        triage_services.demo_auto_send_enable()
        logins = [self._user("supervisor", staff=True, superuser=True)]
        agents_group = Group.objects.get(name="agents")
        for name, languages, categories in AGENTS:
            login = self._user(name)
            user = User.objects.get(username=name)
            user.groups.add(agents_group)
            AgentProfile.objects.update_or_create(
                user=user,
                defaults={
                    "languages": languages,
                    "categories": categories,
                    "approved": True,
                },
            )
            logins.append(login)
        customer_login = self._user("jane")
        jane = User.objects.get(username="jane")
        for email, name, language, subject, text in CUSTOMERS:
            customer = services.customer_get_or_create(
                email=email, name=name, language=language
            )
            if email == "jane@example.com" and customer.user_id is None:
                Customer.objects.filter(pk=customer.pk).update(user=jane)
            if not Ticket.objects.filter(customer=customer).exists():
                services.ticket_create(customer=customer, subject=subject, text=text)
        logins.append(customer_login)
        self.stdout.write("Logins (passwords are new on every start):")
        for role, username, password in logins:
            self.stdout.write(f"  {role:<11} {username:<11} {password}")

    def _user(self, username: str, staff: bool = False, superuser: bool = False):
        user, _ = User.objects.get_or_create(username=username)
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.is_staff = staff
        user.is_superuser = superuser
        user.email = f"{username}@supportdesk.localhost"
        user.save()
        role = (
            "supervisor" if staff else ("customer" if username == "jane" else "agent")
        )
        return role, username, password
