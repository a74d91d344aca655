"""What every certdesk form shares: accessible errors, upload limits, pasted keys never shown
back, and the one date field of the action forms."""

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


class DayField(forms.DateField):
    """A calendar day picked in the browser (``<input type="date">``, ISO whatever the locale),
    with one message for a date it cannot read: the compromise date, the revocation
    confirmation and the day a CSR was sent by hand."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        kwargs.setdefault(
            "error_messages", {"invalid": "Enter the date as YYYY-MM-DD, e.g. 2026-11-28."}
        )
        super().__init__(**kwargs)


class NewPasswordForm(forms.Form):
    """A password chosen and typed twice; whether it is strong enough is the service's rule
    (Django's validators, whose rules the help text lists)."""

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
        return cleaned


class NewAccountForm(NewPasswordForm):
    """A new person's name, address and password typed twice. Whether the name and address
    are free and the password strong enough is the service's rule, reported all at once."""

    username = UsernameField(max_length=150)
    email = forms.EmailField(help_text="Where certdesk writes about expiring certificates.")
    field_order: tuple[str, ...] = ("username", "email", "password1", "password2")
