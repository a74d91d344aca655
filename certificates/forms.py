"""Forms: they validate and clean input; every write is then done by a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import UsernameField
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict


class AccessibleForm(forms.Form):
    """Ties each error message to its field for screen readers: the input is marked invalid
    and described by the error's id (templates/certificates/_field.html renders that id)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            bound = self[name]
            attrs = self.fields[name].widget.attrs
            described = [f"{bound.auto_id}_error"]
            if self.fields[name].help_text:
                described.append(f"{bound.auto_id}_helptext")
            attrs["aria-describedby"] = " ".join(described)
            attrs["aria-invalid"] = "true"


def upload_size_problem(upload: UploadedFile, what: str) -> str | None:
    """Refuse an upload above CERTDESK_UPLOAD_MAX_BYTES by its size alone, before parsing."""
    limit: int = settings.CERTDESK_UPLOAD_MAX_BYTES
    size = upload.size or 0
    if size <= limit:
        return None
    return f"The file is {size:,} bytes; {what} and the limit is {limit:,}."


def forget_pasted_key(form: forms.Form, field: str) -> None:
    """Rule 6: a private key pasted into a text area is never shown back on the refusal page
    (it would sit in the browser's history and caches); the field comes back empty."""
    from certificates import crypto

    name = form.add_prefix(field)
    value = form.data.get(name) or ""
    if crypto.contains_private_key_material(str(value).encode("utf-8", "replace")):
        data = form.data.copy() if isinstance(form.data, QueryDict) else {**form.data}
        data[name] = ""
        form.data = data


def read_upload_or_text(
    form: forms.Form,
    cleaned: dict[str, Any],
    *,
    file_field: str,
    text_field: str,
    missing: str,
    what: str,
) -> bytes | None:
    """The bytes of the uploaded file or else of the pasted text; None after adding an error."""
    upload: UploadedFile | None = cleaned.get(file_field)
    text = (cleaned.get(text_field) or "").strip()
    forget_pasted_key(form, text_field)
    if upload is None and not text:
        form.add_error(file_field, missing)
        return None
    if upload is not None:
        if (problem := upload_size_problem(upload, what)) is not None:
            form.add_error(file_field, problem)
            return None
        return b"".join(upload.chunks())
    data = text.encode()
    limit: int = settings.CERTDESK_UPLOAD_MAX_BYTES
    if len(data) > limit:
        form.add_error(
            text_field, f"The text is {len(data):,} bytes; {what} and the limit is {limit:,}."
        )
        return None
    return data


class FirstAdminForm(AccessibleForm):
    """The one-time form that creates the first administrator."""

    username = UsernameField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    email = forms.EmailField(help_text="Where certdesk writes to you about expiring certificates.")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ; type the same one twice.")
        elif password1:
            from django.contrib.auth.models import User

            candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ReauthenticateForm(AccessibleForm):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


# --- the request wizard ----------------------------------------------------------------------

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


class CancelRequestForm(AccessibleForm):
    # Required, at most so long, plain text: checked by services.request_cancel, the one place
    # that rule lives (the command line passes through it too).
    reason = forms.CharField(
        label="Why cancel it?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: a typo in the Common Name. It stays on the request's page and "
        "in the audit log.",
    )


class MarkSentForm(AccessibleForm):
    sent_on = forms.DateField(
        label="Date you sent it",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD, e.g. 2026-11-28."},
    )


# --- certificates ------------------------------------------------------------------------------


class CertificateUploadForm(AccessibleForm):
    """Treezor's reply: a file (PEM, DER, chain, PKCS#7) or pasted text."""

    environment = forms.ChoiceField(
        label="Environment", required=False, help_text="Leave empty to let certdesk find it."
    )
    purpose = forms.ChoiceField(
        label="Purpose",
        required=False,
        choices=[("", "Any"), ("mtls", "mTLS"), ("signature", "PCI DSS signature")],
    )
    certificate_file = forms.FileField(
        label="Certificate file",
        required=False,
        help_text="As Treezor sent it: .pem, .crt, .cer, .der, or a .p7b/.p7c bundle.",
    )
    certificate_text = forms.CharField(
        label="Or paste the certificate",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="From -----BEGIN CERTIFICATE----- to the END line; a chain may follow.",
    )

    def __init__(self, *args: Any, environments: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["environment"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any")] + [(e.slug, e.name) for e in environments]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        data = read_upload_or_text(
            self,
            cleaned,
            file_field="certificate_file",
            text_field="certificate_text",
            missing="Choose the certificate file, or paste it below.",
            what="a certificate with its chain is a few kilobytes",
        )
        if data is not None:
            cleaned["data"] = data
        return cleaned


class CompromiseForm(AccessibleForm):
    suspected_since = forms.DateField(
        label="Compromise suspected since",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD, e.g. 2026-11-28."},
    )
    note = forms.CharField(
        label="What happened",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Goes to the TAM with the revocation request. Never paste the key here.",
    )


class RevokeForm(AccessibleForm):
    reason = forms.ChoiceField(
        label="Why is it no longer needed?",
        choices=[
            ("superseded", "Superseded: a newer certificate replaced it"),
            ("cessation_of_operation", "Cessation of operation: the service no longer runs"),
            ("other", "Other (say why below)"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RevocationConfirmedForm(AccessibleForm):
    confirmed_on = forms.DateField(
        label="Date Treezor confirmed",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD, e.g. 2026-11-28."},
    )


class Pkcs12Form(AccessibleForm):
    """The passphrase of a PKCS#12 download, prefilled with one generated for this page only.

    certdesk never stores it: it is shown once, here, to copy or replace. Its strength is
    checked by ``key_export`` (the same rule as ``export_key --pkcs12``).
    """

    passphrase = forms.CharField(
        label="Passphrase for the PKCS#12 bundle",
        strip=False,
        max_length=1024,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
        ),
        help_text=(
            "certdesk generated this passphrase for you and keeps no copy: write it down now, "
            "or replace it with your own strong one. You will need it to open the bundle."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from certificates.services.keys import generated_passphrase

        kwargs.setdefault("initial", {"passphrase": generated_passphrase()})
        super().__init__(*args, **kwargs)
