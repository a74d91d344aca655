"""``python -m drill.seed USERNAME PASSWORD``: the drill's data, in its own database: an
administrator, a TAM address on Sandbox and Production and one CSR ready to send per case
(environment x purpose, so that no two compete for the same place). Prints their ids, JSON."""

from __future__ import annotations

import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from certificates import crypto, services  # noqa: E402
from certificates.models import CompanyProfile, Environment  # noqa: E402
from certificates.services import Actor  # noqa: E402

SUBJECT = crypto.Subject(
    country="FR",
    state="Brittany",
    locality="Rennes",
    organization="Drill",
    organizational_unit="IT",
    common_name="drill.example",
    email="it@drill.example",
)


def main(username: str, password: str) -> None:
    get_user_model().objects.create_superuser(username, "drill@drill.example", password)
    CompanyProfile.objects.filter(pk=1).update(company_name="Drill SAS")
    requests = []
    for slug, name in (("sandbox", "Sandbox"), ("production", "Production")):
        environment = Environment.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        environment.tam_emails = ["tam@treezor.example"]
        environment.save()
        for purpose in ("mtls", "signature"):
            request = services.request_create(
                actor=Actor.cli(), environment=environment, purpose=purpose, subject=SUBJECT
            )
            requests.append({"id": request.pk, "environment": slug})
    sys.stdout.write(json.dumps(requests) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
