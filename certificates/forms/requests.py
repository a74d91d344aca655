"""A signing request's forms (views/requests.py): cancel, sent by hand, the PKCS#12 download,
the message to the TAM of the send and resend pages."""

from __future__ import annotations

from typing import Any

from django import forms

from certificates.forms.base import AccessibleForm, DayField, forget_pasted_key
from certificates.services.errors import ServiceError
from certificates.services.tam import MESSAGE_REFUSED, tam_message_carries_key, tam_message_clean


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


class TamMessageForm(AccessibleForm):
    """The optional "Message to your TAM" of the send and resend pages: plain text, first in
    the email. Its rules (length, control characters) are ``services.tam.tam_message_clean``'s;
    private-key material is the outgoing guard's refusal, and never shown back here."""

    message = forms.CharField(
        label="Message to your TAM",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Plain text, a few sentences, shown first in the email: for example, which "
        "earlier CSR this one replaces. Leave it empty for the standard email.",
    )

    def clean_message(self) -> str:
        text: str = self.cleaned_data.get("message") or ""
        if tam_message_carries_key(text):
            forget_pasted_key(self, "message")
            raise forms.ValidationError(MESSAGE_REFUSED)
        try:
            return tam_message_clean(text)
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None


class MarkSentForm(AccessibleForm):
    sent_on = DayField(label="Date you sent it")


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
