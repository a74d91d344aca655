"""Running manage.py as an operator would: a clean environment, only the variables given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
STRONG_SECRET = "k3y-" + "x7Qp9Lm2Zr5Tw8Yb" * 4
ENCRYPTION_KEY = "Y2VydGRlc2stdGVzdHMtb25seS1rZXktMzJieXRlcyE="
AUDIT_KEY = "Y2VydGRlc2stdGVzdHMtb25seS1hdWRpdC1rZXktMzJi"


def run_manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a clean environment with only ``env`` set, as an operator would."""
    clean = {
        "PATH": os.environ["PATH"],
        "CERTDESK_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": STRONG_SECRET,
    "CERTDESK_ENCRYPTION_KEYS": ENCRYPTION_KEY,
    "CERTDESK_AUDIT_KEY": AUDIT_KEY,
    "ALLOWED_HOSTS": "certdesk.example.com",
}
