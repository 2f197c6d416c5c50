import pytest

from conftest import make_ticket

CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def admin_client_(client, supervisor):
    supervisor.is_superuser = True
    supervisor.save()
    client.force_login(supervisor)
    return client


def test_changelist_query_count_does_not_grow(
    admin_client_, customer, django_assert_max_num_queries
):
    for _ in range(30):
        make_ticket(customer.customer)
    with django_assert_max_num_queries(6):
        response = admin_client_.get(CHANGELIST)
    assert response.status_code == 200


def test_search_by_ticket_number_finds_that_ticket(admin_client_, customer):
    first = make_ticket(customer.customer, subject="alpha")
    make_ticket(customer.customer, subject="beta")
    response = admin_client_.get(CHANGELIST, {"q": f"SD-{first.pk}"})
    assert list(response.context["cl"].result_list) == [first]


def test_search_by_email_and_words(admin_client_, customer, other_customer):
    mine = make_ticket(customer.customer, subject="Refund please")
    theirs = make_ticket(other_customer.customer, subject="Card stuck")
    by_email = admin_client_.get(CHANGELIST, {"q": "dora@example.com"})
    assert list(by_email.context["cl"].result_list) == [theirs]
    by_words = admin_client_.get(CHANGELIST, {"q": "refund"})
    assert list(by_words.context["cl"].result_list) == [mine]


def test_every_model_has_an_admin_page(admin_client_):
    for path in [
        "customer",
        "customeridentity",
        "ticket",
        "message",
        "attachment",
        "ticketevent",
    ]:
        assert admin_client_.get(f"/admin/tickets/{path}/").status_code == 200
    assert admin_client_.get("/admin/agents/agentprofile/").status_code == 200


def test_action_checkbox_is_djangos_markup(customer):
    from django.contrib import admin as django_admin

    from tickets.admin import TicketAdmin
    from tickets.models import Ticket

    ticket = make_ticket(customer.customer, subject='A "quoted" <subject>')
    ours = TicketAdmin(Ticket, django_admin.site).action_checkbox(ticket)
    djangos = django_admin.ModelAdmin.action_checkbox(None, ticket)
    assert str(ours) == str(djangos)


def test_capped_count_stops_at_the_cap(customer, monkeypatch):
    from tickets.admin import CappedCountPaginator
    from tickets.models import Ticket

    for _ in range(5):
        make_ticket(customer.customer)
    monkeypatch.setattr(CappedCountPaginator, "CAP", 3)
    paginator = CappedCountPaginator(Ticket.objects.order_by("-id"), 2)
    assert (paginator.count, paginator.capped, paginator.num_pages) == (3, True, 2)
    monkeypatch.setattr(CappedCountPaginator, "CAP", 5)
    exact = CappedCountPaginator(Ticket.objects.order_by("-id"), 2)
    assert (exact.count, exact.capped) == (5, False)


def test_changelist_says_when_the_count_is_capped(admin_client_, customer, monkeypatch):
    from tickets.admin import CappedCountPaginator

    for _ in range(4):
        make_ticket(customer.customer)
    assert b"4 tickets" in admin_client_.get(CHANGELIST).content
    monkeypatch.setattr(CappedCountPaginator, "CAP", 3)
    assert b"more than 3 tickets" in admin_client_.get(CHANGELIST).content
