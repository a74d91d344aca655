"""The Profile page's form: what a person sets for themselves."""

from __future__ import annotations

from django import forms

from certificates.forms.base import AccessibleForm


class ProfileForm(AccessibleForm):
    first_name = forms.CharField(label="First name", required=False, max_length=150)
    last_name = forms.CharField(label="Last name", required=False, max_length=150)
    # Checked by services.profile.profile_update (digits, spaces and + - ( ) . only).
    phone = forms.CharField(
        label="Phone",
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text="Signs the emails you send to Treezor's TAM, with your name and address, so "
        "that they can call you back. For example +33 1 23 45 67 89.",
    )
    receives_reminders = forms.BooleanField(
        label="Email me expiry reminders",
        required=False,
        help_text=(
            "Reminders of the certificates you answer for: the environments where you are "
            "requester or custodian (administrators: every environment)."
        ),
    )
