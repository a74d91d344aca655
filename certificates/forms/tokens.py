"""The API token form of the Profile's token page (views/tokens.py). What a token may be (its
name, environments, scopes and expiry) is the service's rule, services.api_tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from certificates.forms.base import AccessibleForm, DayField
from certificates.models import ApiToken, Environment

SCOPE_LABELS: dict[str, str] = {
    ApiToken.Scope.READ: "read: certificates and requests, with their PEM files",
    ApiToken.Scope.REQUEST: "request: create requests, upload certificates, send to the TAM, "
    "cancel",
    ApiToken.Scope.CUSTODY: "custody: export private keys, report a compromise, confirm a "
    "revocation (asks for your password again)",
}
# What the form suggests: three months, well inside the year a token may live.
DEFAULT_LIFETIME = timedelta(days=90)


class ApiTokenForm(AccessibleForm):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="Where the token is used, such as “deploy-prod”: it names the token in the "
        "audit log.",
    )
    environments = forms.MultipleChoiceField(
        label="Environments",
        widget=forms.CheckboxSelectMultiple,
        help_text="The token acts in these only, and only where you still have a role.",
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        widget=forms.CheckboxSelectMultiple,
        choices=[(scope, SCOPE_LABELS[scope]) for scope in ApiToken.Scope.values],
        help_text="A deployment pipeline needs read and custody; a renewal script read and "
        "request. A token never does more than your role allows at the moment it is used.",
    )
    expires_on = DayField(
        label="Expires on",
        help_text="It stops working when this day begins; a year from today at most.",
    )

    def __init__(self, *args: Any, environments: list[Environment], **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "expires_on": timezone.localdate() + DEFAULT_LIFETIME,
                "scopes": [ApiToken.Scope.READ],
                "environments": [e.slug for e in environments] if len(environments) == 1 else [],
            },
        )
        super().__init__(*args, **kwargs)
        field = self.fields["environments"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(e.slug, e.name) for e in environments]
