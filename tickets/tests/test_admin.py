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
