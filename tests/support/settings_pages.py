"""What the administrators' settings pages post."""

from __future__ import annotations

from certificates.forms.settings import prepare_renewals_choice
from certificates.models import Environment


def environment_data(environment: Environment, **changes: object) -> dict[str, object]:
    """The edit form as the page shows it for ``environment``, with ``changes``."""
    data: dict[str, object] = {
        "name": environment.name,
        "tam_emails": "\n".join(environment.tam_emails),
        "team_emails": "\n".join(environment.team_emails),
        "api_host": environment.api_host,
        "prepare_renewals": prepare_renewals_choice(environment.prepare_renewals),
        "ca_bundle_text": "",
    }
    if environment.signature_required:
        data["signature_required"] = "on"
    if environment.copy_team_on_tam_emails:
        data["copy_team_on_tam_emails"] = "on"
    data.update(changes)
    return data
