"""Filter forms of the list pages (all certificates, all requests, audit log).

They are GET forms: a value certdesk does not know (an old bookmark, a hand-edited address) is
shown as an error next to its field and that filter is ignored, never a server error. Each form
narrows a queryset the view has already limited to what the user may see; choices of
environments are only the user's, so a filter cannot widen that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q, QuerySet
from django.utils import timezone

from certificates.audit_wording import actions_matching_words
from certificates.models import AuditEvent, Certificate, Environment, Purpose, SigningRequest
from certificates.selectors import CertificateStatus
from certificates.selectors.audit import AuditPerson


def _ignored(what: str) -> dict[str, str]:
    return {"invalid_choice": f"certdesk knows no {what} “%(value)s”; this filter was ignored."}


def _environment_field(environments: list[Environment]) -> forms.ChoiceField:
    # Slugs, not primary keys: the address says ?environment=production, and choices come from
    # the list the view already fetched, so the form costs no query of its own.
    return forms.ChoiceField(
        required=False,
        choices=[("", "All environments"), *((e.slug, e.name) for e in environments)],
        error_messages=_ignored("environment"),
    )


class ListFilterForm(forms.Form):
    """A bound GET form whose valid fields narrow a queryset; invalid ones are ignored."""

    def __init__(self, data: Any = None, *, environments: list[Environment]) -> None:
        # An empty query string is an unbound form: a first visit shows no errors.
        super().__init__(data or None)
        self.environments_by_slug = {e.slug: e for e in environments}
        self.fields["environment"] = _environment_field(environments)
        self.order_fields(self.field_order or ["environment"])

    def chosen(self) -> dict[str, Any]:
        """The filters that validated and are set; errors stay on the form for the page."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}

    def chosen_environment(self) -> Environment | None:
        slug = self.chosen().get("environment")
        return self.environments_by_slug.get(slug) if slug else None


# Not shown unless asked for (one click, ``?show=all``): certificates that are of no use any more.
HIDDEN_BY_DEFAULT = (CertificateStatus.SUPERSEDED.value, CertificateStatus.REVOKED.value)
SHOW_ALL = "all"

_HEX_DIGITS = re.compile(r"[0-9a-f]+")


def search_filter(text: str) -> Q:
    """What the certificate search matches: the Common Name (a part of it, any case), the
    serial (typed with or without colons or spaces, any case, leading zeros or not, whole or a
    part) and the SHA-256 fingerprint (the same, as OpenSSL prints it or as hex)."""
    text = " ".join(text.split())
    match = Q(signing_request__common_name__icontains=text)
    digits = re.sub(r"[\s:]", "", text).lower()
    if digits and _HEX_DIGITS.fullmatch(digits):
        # Serials are stored as uppercase hex without leading zeros (format "X"); OpenSSL
        # prints them with a leading zero and colons.
        match |= Q(serial__iexact=digits.lstrip("0") or "0") | Q(serial__icontains=digits)
        match |= Q(fingerprint__contains=digits)
    return match


class CertificateFilterForm(ListFilterForm):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        help_text="Common Name, serial or fingerprint.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    show = forms.ChoiceField(
        required=False,
        choices=[("", "In use"), (SHOW_ALL, "All, superseded and revoked included")],
        widget=forms.HiddenInput,
        error_messages=_ignored("view"),
    )
    purpose = forms.ChoiceField(
        required=False,
        choices=[("", "All purposes"), *Purpose.choices],
        error_messages=_ignored("purpose"),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "All statuses"),
            *((s.value, s.value.capitalize()) for s in CertificateStatus),
        ],
        error_messages=_ignored("status"),
    )

    field_order = ["q", "environment", "purpose", "status", "show"]  # noqa: RUF012

    def shows_all(self) -> bool:
        """Superseded and revoked certificates are listed: asked for (``?show=all``), or the
        status filter names one of them."""
        chosen = self.chosen()
        return chosen.get("show") == SHOW_ALL or chosen.get("status") in HIDDEN_BY_DEFAULT

    def filter(
        self, certificates: QuerySet[Certificate], *, hide: bool = True
    ) -> QuerySet[Certificate]:
        """``certificates`` must come from ``certificates_with_status`` (it filters on status).
        With ``hide`` (the default), superseded and revoked ones stay out unless shown."""
        chosen = self.chosen()
        if text := chosen.get("q", "").strip():
            certificates = certificates.filter(search_filter(text))
        if environment := self.chosen_environment():
            certificates = certificates.filter(signing_request__environment=environment)
        if purpose := chosen.get("purpose"):
            certificates = certificates.filter(signing_request__purpose=purpose)
        if status := chosen.get("status"):
            # Q, because the type checker does not see the ``status`` annotation as a field.
            certificates = certificates.filter(Q(status=status))
        if hide and not self.shows_all():
            certificates = certificates.exclude(Q(status__in=HIDDEN_BY_DEFAULT))
        return certificates

    def hidden(self, certificates: QuerySet[Certificate]) -> QuerySet[Certificate]:
        """Of ``certificates`` (filtered with ``hide=False``), those the default view hides."""
        return certificates.filter(Q(status__in=HIDDEN_BY_DEFAULT))


class RequestFilterForm(ListFilterForm):
    purpose = forms.ChoiceField(
        required=False,
        choices=[("", "All purposes"), *Purpose.choices],
        error_messages=_ignored("purpose"),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "All statuses"), *SigningRequest.Status.choices],
        error_messages=_ignored("request status"),
    )

    def filter(self, requests: QuerySet[SigningRequest]) -> QuerySet[SigningRequest]:
        chosen = self.chosen()
        if environment := self.chosen_environment():
            requests = requests.filter(environment=environment)
        if purpose := chosen.get("purpose"):
            requests = requests.filter(purpose=purpose)
        if status := chosen.get("status"):
            requests = requests.filter(status=status)
        return requests


# Far-off years would overflow the day arithmetic and time-zone conversion of the filter (a 500);
# no audit event predates 2000 or survives past 9000.
_DATE_OPTIONS: dict[str, Any] = {
    "input_formats": ["%Y-%m-%d"],
    "error_messages": {"invalid": "Enter the date as YYYY-MM-DD; this filter was ignored."},
    "validators": [
        MinValueValidator(date(2000, 1, 1), "No event is that old; this filter was ignored."),
        MaxValueValidator(date(9000, 12, 31), "That date is too far ahead; it was ignored."),
    ],
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        # The browser's date picker sends ISO dates whatever the user's locale.
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(ListFilterForm):
    actor = forms.CharField(
        required=False,
        max_length=150,
        label="Person",
        help_text="A user name, or cli or system.",
    )
    action = forms.CharField(
        required=False,
        max_length=64,
        help_text="Pick one, or type the start of a family: request. for every request event.",
    )
    date_from = forms.DateField(required=False, label="From", widget=DateInput(), **_DATE_OPTIONS)
    date_to = forms.DateField(required=False, label="To", widget=DateInput(), **_DATE_OPTIONS)

    def __init__(
        self,
        data: Any = None,
        *,
        environments: list[Environment],
        actions: list[str],
        person_lookup: Callable[[str], AuditPerson | None] | None = None,
    ) -> None:
        super().__init__(data, environments=environments)
        self.actions = actions
        self.person_lookup = person_lookup
        self.person: AuditPerson | None = None
        # A <datalist> offers the known actions and people and still accepts a typed prefix or
        # name, without JS.
        self.fields["action"].widget.attrs["list"] = "audit-actions"
        self.fields["actor"].widget.attrs["list"] = "audit-people"

    def clean_actor(self) -> str:
        name: str = self.cleaned_data.get("actor", "").strip()
        if not name or self.person_lookup is None:
            return name
        self.person = self.person_lookup(name)
        if self.person is None:
            raise forms.ValidationError(
                f"Nobody called “{name}” appears in this log; this filter was ignored."
            )
        return name

    def clean_action(self) -> list[str] | str:
        """A known action (its code or its words), or the start of a family of known ones;
        anything else is explained and ignored."""
        text: str = self.cleaned_data.get("action", "").strip()
        if not text or text in self.actions:
            return text
        by_words = [code for code in actions_matching_words(text) if code in self.actions]
        if by_words:
            return by_words
        if any(action.startswith(text) for action in self.actions):
            return text
        raise forms.ValidationError(
            f"No event in this log has an action “{text}”; this filter was ignored."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start: date | None = cleaned.get("date_from")
        end: date | None = cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "“To” is before “From”; both dates were ignored.")
            cleaned.pop("date_from", None)
        return cleaned

    def filter(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        chosen = self.chosen()
        if environment := self.chosen_environment():
            events = events.filter(environment=environment)
        if actor := chosen.get("actor", "").strip():
            # The name at the time, or the person's own events recorded under an older name.
            match = Q(actor_label__iexact=actor)
            if self.person is not None and self.person.user_id is not None:
                match |= Q(actor_id=self.person.user_id)
            events = events.filter(match)
        action = chosen.get("action")
        if isinstance(action, list):  # the words of an action: its code(s)
            events = events.filter(action__in=action)
        elif action:
            # A known action matches itself only (request.sent_to_tam is not request.sent...);
            # anything else is the start of a family: "request." or "settings".
            events = events.filter(
                Q(action=action) if action in self.actions else Q(action__startswith=action)
            )
        # Dates are days of the site's time zone, compared as instants so the index serves.
        if start := chosen.get("date_from"):
            events = events.filter(created_at__gte=_start_of(start))
        if end := chosen.get("date_to"):
            events = events.filter(created_at__lt=_start_of(end + timedelta(days=1)))
        return events


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
