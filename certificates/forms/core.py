"""The first-run and re-authentication forms (views/core.py)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UsernameField

from certificates.forms.base import AccessibleForm, NewAccountForm


class FirstAdminForm(AccessibleForm, NewAccountForm):
    """The one-time form that creates the first administrator (the password rule is
    services.first_admin_create's)."""

    username = UsernameField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    email = forms.EmailField(help_text="Where certdesk writes to you about expiring certificates.")


class ReauthenticateForm(AccessibleForm):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
