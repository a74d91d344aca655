"""The invitation page's form (views/invitations.py): a name and a password typed twice.
Whether the password is strong enough is services.invitation_accept's rule (Django's validators,
whose rules the help text lists)."""

from __future__ import annotations

from typing import Any

from django import forms

from certificates.forms.base import AccessibleForm, NewPasswordForm


class InvitationAcceptForm(AccessibleForm, NewPasswordForm):
    first_name = forms.CharField(
        label="First name",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    field_order = ("first_name", "last_name", "password1", "password2")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # They came from the email's link to choose a password: the cursor waits there.
        self.fields["password1"].widget.attrs["autofocus"] = True
