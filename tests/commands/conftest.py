"""Fixtures of the command tests: a local CA, a pool of RSA keys, and ways to run commands
(the helpers themselves are in tests/support/commands.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from certificates import crypto
from certificates.models import Environment
from tests.support.commands import Finished
from tests.support.testca import LocalCA

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture(scope="session")
def ca() -> LocalCA:
    """One CA with an intermediate for the whole session: its two keys are made once."""
    return LocalCA.create(with_intermediate=True)


@pytest.fixture(autouse=True)
def trusted_ca(request: pytest.FixtureRequest, ca: LocalCA) -> None:
    """Sandbox and Production trust ``ca``, as after an administrator's setup (rule 5), in
    every test that uses the database."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    request.getfixturevalue("db")
    Environment.objects.filter(ca_bundle="").update(ca_bundle=ca.bundle_pem().decode("ascii"))


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    """RSA 2048 keys made once; each test's database starts empty, so they can serve again."""
    return [crypto.generate_private_key() for _ in range(4)]


@pytest.fixture(autouse=True)
def key_pool(monkeypatch: pytest.MonkeyPatch, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    """Hand request_create a ready key instead of generating one (50-100 ms each).

    Within one test every key is still different, as rule 2 requires: the pool is consumed in
    order, and a test that needs more falls back to generating new ones.
    """
    pool = iter(rsa_keys)
    monkeypatch.setattr(crypto, "generate_private_key", lambda: next(pool, None) or _fresh_key())


def _fresh_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for ``manage.py`` subprocesses: a fresh SQLite file, migrated once."""
    var_dir = tmp_path_factory.mktemp("cli")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CERTDESK_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
    }
    # Keep the subprocesses off any Redis the suite may be pointed at: they need none.
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return env


@pytest.fixture
def manage(migrated_sqlite: dict[str, str]) -> Callable[..., list[Finished]]:
    """Run several ``manage.py`` command lines at once (each starts Django: about a second)."""

    def start_all(*command_lines: list[str]) -> list[Finished]:
        processes = [
            subprocess.Popen(
                [sys.executable, "manage.py", *line],
                cwd=BASE_DIR,
                env=migrated_sqlite,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for line in command_lines
        ]
        finished = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            finished.append(Finished(process.returncode, stdout, stderr))
        return finished

    return start_all


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory
