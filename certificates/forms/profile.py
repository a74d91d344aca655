"""The Profile page's form: what a person sets for themselves."""

from __future__ import annotations

from django import forms

from certificates.forms.base import AccessibleForm


class ProfileForm(AccessibleForm):
    first_name = forms.CharField(label="First name", required=False, max_length=150)
    last_name = forms.CharField(label="Last name", required=False, max_length=150)
    receives_reminders = forms.BooleanField(
        label="Email me expiry reminders",
        required=False,
        help_text=(
            "Reminders of the certificates you answer for: the environments where you are "
            "requester or custodian (administrators: every environment)."
        ),
    )
