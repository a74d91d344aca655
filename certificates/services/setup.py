from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.views.decorators.debug import sensitive_variables

from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.people import password_problem


class FirstRunClosedError(Exception):
    """The first administrator exists already; the first-run page is gone."""


@sensitive_variables("password")
def first_admin_create(*, username: str, email: str, password: str, ip: str | None = None) -> User:
    """Create the one administrator of a fresh installation, and only while there is none.

    Two browsers submitting the first-run form at once must not both become administrators, so
    the check and the insert happen under a table lock on PostgreSQL; SQLite serialises writers
    on its own (transactions begin IMMEDIATE, see settings). The password follows the rule of
    every account (``people.password_problem``): refused as a ServiceError on ``password1``.
    """
    if (problem := password_problem(password, username=username, email=email)) is not None:
        raise ServiceError(problem, field="password1")
    user_model = get_user_model()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(user_model._meta.db_table)
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        if user_model.objects.exists():
            raise FirstRunClosedError
        user: User = user_model.objects.create_superuser(
            username=username, email=email, password=password
        )
        audit_record(
            actor=Actor.browser(user=user, ip=ip),
            action="user.first_admin_created",
            target=user,
            details={"username": username},
        )
    return user
