"""The request wizard's forms (views/wizard.py): environment and purpose, key source, subject."""

from __future__ import annotations

from typing import Any

from django import forms

from certificates.forms.base import AccessibleForm, read_upload_or_text

# Treezor's own explanations of the CSR table (docs/treezor-mtls.md), except the Common Name
# example, which Treezor gives as a URL: a CN holds a host name.
SUBJECT_HELP = {
    "country": "The two-letter country code representing the country where the organization is "
    "located.",
    "state": "The state or province where the organization is located (e.g., Brittany, IdF).",
    "locality": "The locality or city where the organization is located.",
    "organization": "The legal name of the organization to which the entity belongs. This could "
    "be the company, department, or other organizational unit.",
    "organizational_unit": 'The specific unit within the organization. For example, "IT '
    'Department" or "Marketing".',
    "common_name": "Usually, the fully qualified domain name (FQDN) for which the certificate is "
    "being requested, e.g. yourcompany.com: a host name only, without https:// or a path.",
    "email": "The email address of the organization.",
}
SUBJECT_LABELS = {
    "country": "Country",
    "state": "State / Province",
    "locality": "Locality",
    "organization": "Organization Name",
    "organizational_unit": "Organizational Unit",
    "common_name": "Common Name",
    "email": "Email",
}


def country_choices() -> list[tuple[str, str]]:
    import pycountry

    countries = sorted(pycountry.countries, key=lambda c: getattr(c, "common_name", c.name))
    return [("", "Choose a country")] + [
        (c.alpha_2, f"{getattr(c, 'common_name', c.name)} ({c.alpha_2})") for c in countries
    ]


class EnvironmentPurposeForm(AccessibleForm):
    def _choice(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field

    environment = forms.ChoiceField(
        label="Environment",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the Treezor environment this certificate is for."},
    )
    purpose = forms.ChoiceField(
        label="Purpose",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what the certificate is for."},
    )

    def __init__(self, *args: Any, environments: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from certificates.models import Purpose

        self._choice("environment").choices = [(e.slug, e.name) for e in environments]
        self._choice("purpose").choices = [
            (Purpose.MTLS, "mTLS: client authentication in the TLS handshake with Treezor's API"),
            (
                Purpose.SIGNATURE,
                "PCI DSS signature: signing requests to PCI DSS endpoints, with a second, "
                "different private key",
            ),
        ]


class KeySourceForm(AccessibleForm):
    GENERATE, UPLOAD = "generate", "upload"
    key_source = forms.ChoiceField(
        label="Key source",
        widget=forms.RadioSelect,
        choices=[
            (GENERATE, "Generate the key here (recommended)"),
            (UPLOAD, "I generated my key myself: upload my CSR"),
        ],
        initial=GENERATE,
    )
    csr_file = forms.FileField(
        label="CSR file (PEM or DER)",
        required=False,
        help_text="The .pem, .csr or .der file made by openssl req. Never the private key.",
    )
    csr_text = forms.CharField(
        label="Or paste the CSR",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="From -----BEGIN CERTIFICATE REQUEST----- to the END line.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("key_source") != self.UPLOAD:
            return cleaned
        data = read_upload_or_text(
            self,
            cleaned,
            file_field="csr_file",
            text_field="csr_text",
            missing="Choose your CSR file, or paste the CSR below.",
            what="a CSR is a few kilobytes",
        )
        if data is not None:
            cleaned["csr_data"] = data
        return cleaned


class SubjectForm(AccessibleForm):
    """One field per row of Treezor's table, checked by the same rules as every CSR."""

    country = forms.ChoiceField(
        error_messages={
            "invalid_choice": "'%(value)s' is not an ISO 3166-1 country code; choose the "
            "country from the list."
        }
    )
    state = forms.CharField(required=False)
    locality = forms.CharField(required=False)
    organization = forms.CharField(required=False)
    organizational_unit = forms.CharField(required=False)
    common_name = forms.CharField(required=False)
    email = forms.CharField(required=False, widget=forms.EmailInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from certificates import crypto

        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = country_choices()
        self.common_name_suggestion: str | None = None
        for name, field in self.fields.items():
            field.label = SUBJECT_LABELS[name]
            field.help_text = SUBJECT_HELP[name]
            field.required = name != "organizational_unit"
            if name in crypto.MAX_LENGTHS and name != "country":
                field.widget.attrs["maxlength"] = str(crypto.MAX_LENGTHS[name])
        self.fields["common_name"].widget.attrs.update(
            {"autocapitalize": "none", "spellcheck": "false", "placeholder": "yourcompany.com"}
        )
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        for name in ("state", "locality", "organization", "common_name", "email"):
            self.fields[name].error_messages["required"] = (
                f"{SUBJECT_LABELS[name]} is required: {SUBJECT_HELP[name][0].lower()}"
                f"{SUBJECT_HELP[name][1:]}"
            )
        self.fields["country"].error_messages["required"] = (
            "Country is required: choose the country where the organization is located."
        )

    def clean(self) -> dict[str, Any]:
        from certificates import crypto

        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            self.subject = crypto.validate_subject(**{name: cleaned[name] for name in self.fields})
        except crypto.SubjectError as error:
            if "common_name" in error.errors:
                self.common_name_suggestion = crypto.suggest_common_name(cleaned["common_name"])
            for name, message in error.errors.items():
                self.add_error(name, message)
        return cleaned
