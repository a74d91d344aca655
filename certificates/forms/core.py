"""The first-run and re-authentication forms (views/core.py)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UsernameField

from certificates.forms.base import AccessibleForm, NewAccountForm


class FirstAdminForm(AccessibleForm, NewAccountForm):
    """The one-time form that creates the first administrator (the password rule is
    services.first_admin_create's, and so is whether the setup code is the current one)."""

    field_order = ("setup_code", "username", "email", "password1", "password2")

    setup_code = forms.CharField(
        label="Setup code",
        max_length=64,
        help_text=(
            "Printed in the server's log when certdesk first started (the line "
            '"certdesk: first-run setup code: ..."); "python manage.py setup_code" on the server '
            "prints a new one."
        ),
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    username = UsernameField(max_length=150)
    email = forms.EmailField(help_text="Where certdesk writes to you about expiring certificates.")
