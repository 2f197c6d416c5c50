"""Who is who: customer, agent, supervisor, admin.

Groups are created by a migration; supervisors are Django staff. Reading
``user.agent`` / ``user.customer`` costs a query, so cheap checks come first.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

CUSTOMERS = "customers"
AGENTS = "agents"
SUPERVISORS = "supervisors"
ADMINS = "admins"

User = AbstractBaseUser | AnonymousUser


def is_supervisor(user: User) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def agent_profile(user: User):
    if not user.is_authenticated:
        return None
    return getattr(user, "agent", None)


def is_agent(user: User) -> bool:
    profile = agent_profile(user)
    return bool(profile and profile.may_work)


def customer_of(user: User):
    if not user.is_authenticated:
        return None
    return getattr(user, "customer", None)
