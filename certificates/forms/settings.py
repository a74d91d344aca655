"""Forms of the administrators' settings pages: they check the shape of the input; the services
(``services.company``, ``services.environments``, ``services.people``) check the rules and report
every problem at once, which the views put next to their fields (``views.access.show_refusal``).
"""

from __future__ import annotations

from typing import Any

import pycountry
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.http import QueryDict
from django.utils.html import format_html_join

from certificates import crypto
from certificates.forms.base import AccessibleForm, upload_size_problem
from certificates.models import Environment, Role
from certificates.services.environments import parse_ca_bundle
from certificates.services.errors import ServiceError

ROLE_EXPLANATIONS: dict[str, str] = {
    Role.VIEWER: "sees certificates and downloads CSRs and certificates.",
    Role.REQUESTER: ("also creates requests, uploads certificates and sends CSRs to the TAM."),
    Role.CUSTODIAN: "also downloads private keys and reports a compromised key.",
}

ROLE_HELP = format_html_join(
    " ",
    "<strong>{}</strong> {}",
    ((Role(role).label, text) for role, text in ROLE_EXPLANATIONS.items()),
)


def country_choices() -> list[tuple[str, str]]:
    """The real ISO 3166-1 list, by name: ("FR", "France (FR)")."""
    countries = sorted(pycountry.countries, key=lambda country: str(country.name))
    return [("", "(none)")] + [
        (str(country.alpha_2), f"{country.name} ({country.alpha_2})") for country in countries
    ]


class CountryField(forms.ChoiceField):
    """A select of the ISO list; a code typed by other means gets crypto's explanation."""

    def valid_value(self, value: str) -> bool:
        # The subject rules judge the value, with a message naming the right code.
        return True


class CompanyProfileForm(forms.Form):
    company_name = forms.CharField(
        max_length=64,
        help_text=(
            "Used in the file names Treezor expects, such as "
            "<code>&lt;your.company.name&gt;_csr_mtls.pem</code>."
        ),
    )
    country = CountryField(required=False, choices=country_choices)
    state = forms.CharField(
        label="State / Province", required=False, max_length=crypto.MAX_LENGTHS["state"]
    )
    locality = forms.CharField(required=False, max_length=crypto.MAX_LENGTHS["locality"])
    organization = forms.CharField(
        label="Organization Name",
        required=False,
        max_length=crypto.MAX_LENGTHS["organization"],
        help_text="The legal name of the organization.",
    )
    organizational_unit = forms.CharField(
        label="Organizational Unit",
        required=False,
        max_length=crypto.MAX_LENGTHS["organizational_unit"],
    )
    common_name = forms.CharField(
        label="Common Name",
        required=False,
        max_length=crypto.MAX_LENGTHS["common_name"],
        help_text="A host name such as yourcompany.com: no https://, no path.",
    )
    email = forms.CharField(
        label="Email",
        required=False,
        max_length=crypto.MAX_LENGTHS["email"],
        help_text="The email address of the organization, written into the CSR.",
    )


def _email_list_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
    )


# The stored value is None (automatic), True or False; the select speaks for each.
PREPARE_RENEWALS_CHOICES = [
    ("", "Automatic (on unless the key was brought by the user)"),
    ("on", "On"),
    ("off", "Off"),
]


def prepare_renewals_choice(value: bool | None) -> str:
    """The select's value for a stored ``Environment.prepare_renewals``."""
    return "" if value is None else "on" if value else "off"


class EnvironmentForm(forms.Form):
    """Add (with a slug) or edit (with the choice of removing the CA bundle) an environment."""

    # May be saved empty, but nothing can be emailed without it: its label does not say
    # "(optional)" (templates/certificates/_field.html, certdesk_text.marked_optional).
    expected_fields = ("tam_emails",)

    name = forms.CharField(max_length=64)
    slug = forms.CharField(
        required=False,
        max_length=64,
        help_text="Used in this environment's addresses; made from the name when left blank. "
        "It cannot be changed later.",
    )
    tam_emails = _email_list_field(
        "TAM addresses",
        "Treezor's Technical Account Manager, who receives CSRs, renewal and revocation "
        "requests. One address a line, or separated by commas.",
    )
    team_emails = _email_list_field(
        "Team addresses",
        "Your team's addresses that also receive reminders. One a line, or separated by commas.",
    )
    api_host = forms.CharField(
        label="API host",
        required=False,
        max_length=253,
        help_text="Treezor's API host name for this environment, such as "
        "<code>sandbox.treezor.co</code>: no https://, no path.",
    )
    signature_required = forms.BooleanField(
        label="Signature set required",
        required=False,
        help_text="PCI DSS services need a second, signature certificate with its own key.",
    )
    copy_team_on_tam_emails = forms.BooleanField(
        label="Copy the team on emails to the TAM",
        required=False,
        initial=True,
        help_text="Every email to the TAM (CSRs, renewal, revocation) copies the team addresses "
        "above, so the team sees what Treezor answers. Answers go to the person who sent the "
        "email and to the team addresses either way.",
    )
    prepare_renewals = forms.TypedChoiceField(
        label="Prepare renewals automatically",
        required=False,
        choices=PREPARE_RENEWALS_CHOICES,
        coerce=lambda value: {"on": True, "off": False}.get(value),
        empty_value=None,
        help_text="A month before a certificate expires, certdesk makes the renewal request "
        "(a new key, the same subject), sends its CSR to the TAM and tells the owners, so that "
        "only installing Treezor's certificate is left to do.",
    )
    ca_bundle_file = forms.FileField(
        label="CA bundle file",
        required=False,
        help_text="Treezor's CA certificates as a PEM file (at most 1 MB). Uploaded "
        "certificates must then chain to them.",
    )
    ca_bundle_text = forms.CharField(
        label="CA bundle, pasted",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="Or paste the PEM text (<code>-----BEGIN CERTIFICATE-----</code> …).",
    )
    remove_ca_bundle = forms.BooleanField(
        label="Remove the CA bundle",
        required=False,
        help_text="Uploaded certificates will no longer be checked against a CA bundle.",
    )

    def __init__(self, *args: Any, environment: Environment | None = None, **kwargs: Any) -> None:
        self.environment = environment
        super().__init__(*args, **kwargs)
        self.ca_bundle: bytes | None = None
        if environment is not None:
            del self.fields["slug"]
            if not environment.ca_bundle:
                del self.fields["remove_ca_bundle"]
            else:
                self.fields[
                    "ca_bundle_file"
                ].help_text = (
                    "To replace the current bundle, choose another PEM file (at most 1 MB)."
                )

    def clean_ca_bundle_file(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("ca_bundle_file")
        if upload is not None and (
            problem := upload_size_problem(
                upload, "a CA bundle is a few kilobytes (check it is Treezor's CA certificates)"
            )
        ):
            raise forms.ValidationError(problem)
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload: UploadedFile | None = cleaned.get("ca_bundle_file")
        text: str = cleaned.get("ca_bundle_text") or ""
        remove = bool(cleaned.get("remove_ca_bundle"))
        if "ca_bundle_file" in self.errors:
            return cleaned
        if upload is not None and text.strip():
            self.add_error(
                "ca_bundle_text", "Upload a file or paste the text, not both; clear one of them."
            )
            return cleaned
        if remove and (upload is not None or text.strip()):
            self.add_error(
                "remove_ca_bundle",
                "Either remove the CA bundle or give a new one, not both.",
            )
            return cleaned
        if upload is not None:
            self._check_bundle(b"".join(upload.chunks()), "ca_bundle_file")
        elif text.strip():
            self._check_bundle(text.encode("utf-8"), "ca_bundle_text")
        elif remove:
            self.ca_bundle = b""
        return cleaned

    def _check_bundle(self, pem: bytes, field: str) -> None:
        try:
            parse_ca_bundle(pem)
        except ServiceError as error:
            self.add_error(field, error.message)
            if crypto.contains_private_key_material(pem):
                # Never echo key material back into the page: the textarea comes back empty.
                data = self.data.copy() if isinstance(self.data, QueryDict) else {**self.data}
                data[self.add_prefix("ca_bundle_text")] = ""
                self.data = data
            return
        self.ca_bundle = pem


class UserChoiceField(forms.CharField):
    """A username or an email address, resolved to one existing person."""

    def clean(self, value: Any) -> User:
        text: str = super().clean(value).strip()
        users = get_user_model().objects.filter(
            Q(username=text) | Q(username__iexact=text) | Q(email__iexact=text)
        )
        exact = [user for user in users if user.get_username() == text]
        found = exact or list(users)
        if not found:
            raise forms.ValidationError(
                f"No one is called or has the address '{text}'. Invite them first (Settings → "
                "People → Invite someone)."
            )
        if len(found) > 1:
            raise forms.ValidationError(
                f"Several people match '{text}'; type the exact username instead."
            )
        user: User = found[0]
        return user


class MemberAddForm(forms.Form):
    user = UserChoiceField(
        label="Person",
        max_length=254,
        help_text="Their username or email address.",
    )
    role = forms.ChoiceField(choices=Role.choices, help_text=ROLE_HELP)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


# "No role" first: inviting someone gives them nothing until an administrator chooses.
INVITE_ROLE_CHOICES = [("", "No role"), *Role.choices]


class InviteForm(AccessibleForm):
    """An address, an optional name, and a role per environment (a select each). Whether the
    address is free and the roles valid is services.invitation_create's rule."""

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="The invitation goes there; it is also their user name.",
    )
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)

    def __init__(self, *args: Any, environments: list[Environment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environments = environments
        for environment in environments:
            self.fields[self.role_field(environment)] = forms.ChoiceField(
                label=f"Role in {environment.name}",
                choices=INVITE_ROLE_CHOICES,
                required=False,
            )

    @staticmethod
    def role_field(environment: Environment) -> str:
        # services.invitation_create names a problem with one environment's role the same way.
        return f"role_{environment.slug}"

    def roles(self) -> list[tuple[Environment, str]]:
        """The (environment, role) pairs chosen, "No role" left out."""
        return [
            (environment, self.cleaned_data[self.role_field(environment)])
            for environment in self.environments
            if self.cleaned_data.get(self.role_field(environment))
        ]
