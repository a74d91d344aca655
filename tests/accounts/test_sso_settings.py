"""certdesk refuses to start on a half single sign-on configuration, naming what is missing,
rather than showing a login page that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.manage import PRODUCTION, run_manage

pytestmark = pytest.mark.slow

ISSUER = "https://idp.example.com/realms/acme"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"CERTDESK_OIDC_ISSUER": ISSUER}, "needs both CERTDESK_OIDC_ISSUER and"),
        ({"CERTDESK_OIDC_CLIENT_ID": "certdesk"}, "needs both CERTDESK_OIDC_ISSUER and"),
        ({"CERTDESK_OIDC_CLIENT_SECRET": "s3cret"}, "set CERTDESK_OIDC_ISSUER and"),
        ({"CERTDESK_OIDC_ROLES_CLAIM": "groups"}, "set CERTDESK_OIDC_ISSUER and"),
        ({"CERTDESK_PASSWORD_LOGIN": "false"}, "CERTDESK_PASSWORD_LOGIN=false leaves"),
        (
            {"CERTDESK_OIDC_ISSUER": "idp.example.com", "CERTDESK_OIDC_CLIENT_ID": "certdesk"},
            "must be the provider's https:// issuer URL",
        ),
    ],
)
def test_a_half_configuration_does_not_start(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    result = run_manage(tmp_path, "check", **variables)
    assert result.returncode != 0
    assert named in result.stderr


def test_production_needs_an_https_issuer(tmp_path: Path) -> None:
    result = run_manage(
        tmp_path,
        "check",
        **PRODUCTION,
        CERTDESK_OIDC_ISSUER="http://idp.example.com",
        CERTDESK_OIDC_CLIENT_ID="certdesk",
    )
    assert result.returncode != 0
    assert "must be the provider's https:// issuer URL" in result.stderr


def test_a_whole_configuration_starts_with_the_button_named(tmp_path: Path) -> None:
    result = run_manage(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; "
        "app = settings.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'][0]; "
        "print('app:', app['provider_id'], app['name'], app['settings']['server_url'], "
        "app['settings']['token_auth_method'])",
        CERTDESK_OIDC_ISSUER=ISSUER + "/",
        CERTDESK_OIDC_CLIENT_ID="certdesk",
        CERTDESK_OIDC_CLIENT_SECRET="s3cret",
        CERTDESK_OIDC_NAME="Acme SSO",
        CERTDESK_PASSWORD_LOGIN="false",
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("app:")]
    assert line.split() == ["app:", "sso", "Acme", "SSO", ISSUER, "client_secret_basic"]


def test_the_content_security_policy_lets_the_login_form_lead_to_the_provider(
    tmp_path: Path,
) -> None:
    """The "Sign in with" POST is answered with a redirect to the provider, which browsers
    check against form-action: without the provider's origin there, Chromium blocks it."""
    result = run_manage(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; "
        "print('form-action:', *settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])",
        CERTDESK_OIDC_ISSUER=ISSUER,
        CERTDESK_OIDC_CLIENT_ID="certdesk",
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("form-action:")]
    assert line.split() == ["form-action:", "'self'", "https://idp.example.com"]
