"""factory_boy factories for the rows tests build: users, memberships, environments, keys,
signing requests and certificates.

``CertificateFactory`` is the lightweight variant (fake PEM, no RSA work) for list, status and
reminder tests that build many rows; it keeps the install rule all the same: one certificate in
service per (environment, purpose), the older one superseded and named by ``replaces``. Tests
that need real cryptography go through the services (tests/support/commands.py) and the local
CA (tests/support/testca.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from factory.declarations import LazyAttribute, LazyFunction, SelfAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory

from certificates.models import Certificate, Environment, Key, Membership, SigningRequest
from tests.support.subjects import ACME


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = Sequence(lambda n: f"user{n}")
    email = LazyAttribute(lambda user: f"{user.username}@acme.example")


class EnvironmentFactory(DjangoModelFactory[Environment]):
    class Meta:
        model = Environment
        django_get_or_create = ("slug",)

    name = Sequence(lambda n: f"Environment {n}")
    slug = LazyAttribute(lambda environment: environment.name.lower().replace(" ", "-"))


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = SubFactory(UserFactory)
    environment = SubFactory(EnvironmentFactory)
    role = "viewer"


class KeyFactory(DjangoModelFactory[Key]):
    """A key row. An imported key has no private half here; a generated one's ciphertext is
    any bytes, since these rows are never decrypted."""

    class Meta:
        model = Key

    fingerprint = LazyFunction(lambda: secrets.token_hex(32))
    source = Key.Source.IMPORTED
    encrypted_private_key = LazyAttribute(
        lambda key: b"sealed" if key.source == Key.Source.GENERATED else None
    )


class SigningRequestFactory(DjangoModelFactory[SigningRequest]):
    """A request with ACME's subject and a placeholder CSR (``csr_pem``: pass a real one where
    the test reads it)."""

    class Meta:
        model = SigningRequest

    environment = SubFactory(EnvironmentFactory)
    purpose = "mtls"
    key = SubFactory(KeyFactory)
    country = ACME.country
    state = ACME.state
    locality = ACME.locality
    organization = ACME.organization
    organizational_unit = ACME.organizational_unit
    common_name = ACME.common_name
    email = ACME.email
    csr_pem = "x"
    status = SigningRequest.Status.FULFILLED


class CertificateFactory(DjangoModelFactory[Certificate]):
    """A certificate as certificate_upload installs it, without the cryptography: fake PEM,
    random serial and fingerprint, and it takes over from the certificate in service."""

    class Meta:
        model = Certificate

    signing_request = SubFactory(SigningRequestFactory)
    environment = SelfAttribute("signing_request.environment")
    purpose = SelfAttribute("signing_request.purpose")
    pem = "x"
    serial = LazyFunction(lambda: secrets.token_hex(8).upper())
    subject = LazyAttribute(
        lambda certificate: f"CN={certificate.signing_request.common_name},O=Acme,C=FR"
    )
    issuer = "CN=Treezor Test Root CA"
    not_after = LazyFunction(lambda: timezone.now() + timedelta(days=365))
    not_before = LazyAttribute(lambda certificate: certificate.not_after - timedelta(days=365))
    fingerprint = LazyFunction(lambda: secrets.token_hex(32))

    @classmethod
    def _create(cls, model_class: type[Certificate], *args: Any, **kwargs: Any) -> Certificate:
        """One in service per (environment, purpose): the current one is superseded, now or at
        ``supersede_at``."""
        superseded_at = kwargs.pop("supersede_at", None) or timezone.now()
        previous = Certificate.objects.filter(
            environment=kwargs["environment"],
            purpose=kwargs["purpose"],
            superseded_at__isnull=True,
        ).first()
        if previous is not None:
            previous.superseded_at = superseded_at
            previous.save(update_fields=["superseded_at"])
            kwargs.setdefault("replaces", previous)
        return super()._create(model_class, *args, **kwargs)  # type: ignore[no-any-return]


def member(role: str, environment: Environment, **fields: Any) -> User:
    """A user holding ``role`` in ``environment``."""
    user = UserFactory.create(**fields)
    MembershipFactory.create(user=user, environment=environment, role=role)
    return user


def requests_bulk(
    environment: Environment, count: int, *, status: str = "fulfilled", **fields: Any
) -> list[SigningRequest]:
    """``count`` requests in two queries (list tests build hundreds)."""
    now = timezone.now()
    keys = Key.objects.bulk_create(KeyFactory.build_batch(count))
    return SigningRequest.objects.bulk_create(
        SigningRequestFactory.build(
            environment=environment,
            key=key,
            status=status,
            sent_at=now if status == "sent" else None,
            cancelled_at=now if status == "cancelled" else None,
            **fields,
        )
        for key in keys
    )


def certificates_bulk(
    environment: Environment,
    count: int,
    *,
    not_after: Callable[[int], datetime],
    not_before: datetime,
    purpose: str = "mtls",
    common_name: str = "acme.com",
) -> list[Certificate]:
    """``count`` lightweight certificates installed in that order, in a few queries: the last
    one is in service for (environment, purpose), the others (and any earlier one) superseded.
    The ``index``-th expires at ``not_after(index)``."""
    now = timezone.now()
    requests = requests_bulk(environment, count, purpose=purpose, common_name=common_name)
    Certificate.objects.filter(
        environment=environment, purpose=purpose, superseded_at__isnull=True
    ).update(superseded_at=now)
    return Certificate.objects.bulk_create(
        CertificateFactory.build(
            signing_request=request,
            superseded_at=now if index < count - 1 else None,
            not_before=not_before,
            not_after=not_after(index),
        )
        for index, request in enumerate(requests)
    )
