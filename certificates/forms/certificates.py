"""A certificate's forms (views/certificates.py): upload, compromise, revoke, confirmation."""

from __future__ import annotations

from typing import Any

from django import forms

from certificates.forms.base import AccessibleForm, DayField, read_upload_or_text
from certificates.models import Purpose, Revocation
from certificates.services.revocations import NO_LONGER_NEEDED


class CertificateUploadForm(AccessibleForm):
    """Treezor's reply: a file (PEM, DER, chain, PKCS#7) or pasted text."""

    environment = forms.ChoiceField(
        label="Environment", required=False, help_text="Leave empty to let certdesk find it."
    )
    purpose = forms.ChoiceField(
        label="Purpose",
        required=False,
        choices=[("", "Any"), *Purpose.choices],
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
    suspected_since = DayField(label="Compromise suspected since")
    note = forms.CharField(
        label="What happened",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Goes to the TAM with the revocation request. Never paste the key here.",
    )


# What each reason a certificate is no longer needed means, on the revoke page. The reasons
# themselves are the service's (``revocations.NO_LONGER_NEEDED``: a compromise has its own page).
REVOKE_CHOICE_LABELS: dict[str, str] = {
    Revocation.Reason.SUPERSEDED: "Superseded: a newer certificate replaced it",
    Revocation.Reason.CESSATION_OF_OPERATION: (
        "Cessation of operation: the service no longer runs"
    ),
    Revocation.Reason.OTHER: "Other (say why below)",
}


class RevokeForm(AccessibleForm):
    reason = forms.ChoiceField(
        label="Why is it no longer needed?",
        choices=[(reason, REVOKE_CHOICE_LABELS[reason]) for reason in NO_LONGER_NEEDED],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RevocationConfirmedForm(AccessibleForm):
    confirmed_on = DayField(label="Date Treezor confirmed")
