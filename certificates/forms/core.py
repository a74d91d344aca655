"""The first-run and re-authentication forms (views/core.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import UsernameField

from certificates.forms.base import AccessibleForm


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
        # The password rule itself is the service's (services.first_admin_create).
        return cleaned


class ReauthenticateForm(AccessibleForm):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
