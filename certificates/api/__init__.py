"""certdesk's REST API (issue 17): routers per resource, token auth, problem+json errors.
``urls()`` is what certificates/urls.py mounts at /api/v1/."""

from certificates.api.main import api, urls

__all__ = ["api", "urls"]
