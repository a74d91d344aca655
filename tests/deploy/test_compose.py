"""The production deployment files: docker-compose.yml, the Dockerfile and docker/entrypoint.sh.

No Docker engine is needed. The compose file is read as YAML and, where a Compose binary is
installed (Debian's docker-compose 1.29 or the Compose v2 plugin), validated by `config`; the
entry point runs against stub commands that only record how they were called.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.availability import missing_service

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"

APP_SERVICES = ("web", "worker", "beat")
# What compose must refuse to start without (`${NAME:?message}`), with values that satisfy it.
REQUIRED_VARIABLES = {
    "SECRET_KEY": "compose-test-secret-key-" + "x" * 40,
    "CERTDESK_ENCRYPTION_KEYS": "Y2VydGRlc2stdGVzdHMtb25seS1rZXktMzJieXRlcyE=",
    "CERTDESK_AUDIT_KEY": "Y2VydGRlc2stY29tcG9zZS10ZXN0LWF1ZGl0LWtleSEh",
    "POSTGRES_PASSWORD": "compose-test-password",
}
# What certdesk reads with DJANGO_ENV=production and has no usable default for.
PRODUCTION_VARIABLES = (
    "SECRET_KEY",
    "CERTDESK_ENCRYPTION_KEYS",
    "CERTDESK_AUDIT_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "ALLOWED_HOSTS",
)
# Addresses of other services, which inside a container must not be loopback.
SERVICE_ADDRESSES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "CELERY_RESULT_BACKEND",
)
COMPOSE_COMMANDS = {"docker-compose": ("docker-compose",), "docker compose": ("docker", "compose")}
# `${NAME`, `${NAME:-default}`, `${NAME:?message}`; `$${...}` is an escaped dollar, not a variable.
VARIABLE_REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _service(name: str) -> dict[str, Any]:
    service = _compose()["services"][name]
    assert isinstance(service, dict)
    return service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment:`, written as a mapping or as a list of NAME=value."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(name): str(value) for name, value in raw.items()}


def _command(service: dict[str, Any]) -> str:
    raw = service.get("command", "")
    return " ".join(raw) if isinstance(raw, list) else str(raw)


def _compose_variables() -> set[str]:
    return set(VARIABLE_REFERENCE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))


@cache
def _compose_installed(name: str) -> bool:
    command = COMPOSE_COMMANDS[name]
    if shutil.which(command[0]) is None:
        return False
    if len(command) == 1:
        return True
    # The docker CLI is there; the compose plugin may not be.
    probe = subprocess.run(
        [*command, "version"],
        capture_output=True,
        check=False,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return probe.returncode == 0


@pytest.fixture
def compose_command() -> tuple[str, ...]:
    """The installed Compose (Debian's docker-compose 1.29, or the v2 plugin); CI installs one."""
    for name, command in COMPOSE_COMMANDS.items():
        if _compose_installed(name):
            return command
    missing_service(
        "neither docker-compose nor the docker compose plugin is installed "
        "(Debian: apt-get install docker-compose)"
    )
    raise AssertionError("unreachable")  # missing_service always raises


def _run_compose(
    command: tuple[str, ...],
    project: Path,
    variables: dict[str, str],
    *arguments: str,
    dotenv: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run compose on a copy of the file in a folder of its own with the given .env (empty by
    default), so neither a developer's .env nor the shell's variables change the outcome."""
    shutil.copy(COMPOSE_FILE, project / "docker-compose.yml")
    (project / ".env").write_text(dotenv, encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _compose_variables() and not name.startswith("COMPOSE_")
    }
    env.update(variables)
    return subprocess.run(
        [
            *command,
            "--project-name",
            "certdesk-test",
            "--file",
            str(project / "docker-compose.yml"),
            "--project-directory",
            str(project),
            *arguments,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


# --- docker-compose.yml, validated by Compose itself ---------------------------------------------


def test_compose_accepts_the_file_when_the_secrets_are_set(
    compose_command: tuple[str, ...], tmp_path: Path
) -> None:
    """Compose validates the file and fills DATABASE_URL with the PostgreSQL password."""
    checked = _run_compose(compose_command, tmp_path, REQUIRED_VARIABLES, "config", "-q")
    assert checked.returncode == 0, checked.stderr

    rendered = _run_compose(compose_command, tmp_path, REQUIRED_VARIABLES, "config")
    assert rendered.returncode == 0, rendered.stderr
    web = yaml.safe_load(rendered.stdout)["services"]["web"]
    environment = _environment(web)
    password = REQUIRED_VARIABLES["POSTGRES_PASSWORD"]
    assert environment["DATABASE_URL"] == f"postgres://certdesk:{password}@postgres:5432/certdesk"
    assert environment["SECRET_KEY"] == REQUIRED_VARIABLES["SECRET_KEY"]
    assert environment["DJANGO_ENV"] == "production"


@pytest.mark.parametrize("missing", list(REQUIRED_VARIABLES))
def test_compose_refuses_to_start_without_a_secret(
    compose_command: tuple[str, ...], tmp_path: Path, missing: str
) -> None:
    """With a secret unset, Compose stops before any container and names the variable."""
    variables = {name: value for name, value in REQUIRED_VARIABLES.items() if name != missing}
    result = _run_compose(compose_command, tmp_path, variables, "config", "-q")
    assert result.returncode != 0
    assert missing in result.stdout + result.stderr


def test_a_dotenv_copied_from_the_example_reaches_the_stack_services(
    compose_command: tuple[str, ...], tmp_path: Path
) -> None:
    """`cp .env.example .env` plus the three secrets gives web, worker and beat addresses of the
    compose services: inside a container, 127.0.0.1 or localhost is the container itself."""
    assert ENV_EXAMPLE.exists(), ".env.example is missing: it lists every variable certdesk reads"
    dotenv = ENV_EXAMPLE.read_text(encoding="utf-8")
    for name, value in REQUIRED_VARIABLES.items():
        dotenv, found = re.subn(rf"^{name}=.*$", f"{name}={value}", dotenv, flags=re.M)
        if not found:
            dotenv += f"\n{name}={value}\n"
    rendered = _run_compose(compose_command, tmp_path, {}, "config", dotenv=dotenv)
    assert rendered.returncode == 0, rendered.stderr
    services = yaml.safe_load(rendered.stdout)["services"]
    for name in APP_SERVICES:
        environment = _environment(services[name])
        assert environment["DJANGO_ENV"] == "production", name
        for variable in SERVICE_ADDRESSES:
            address = environment.get(variable, "")
            assert not re.search(r"//([^/@]*@)?(127\.0\.0\.1|localhost)\b", address), (
                f"{name}: {variable}={address} points at the container itself; in .env.example "
                "comment it out so docker-compose.yml's default applies"
            )


# --- docker-compose.yml, read as YAML ------------------------------------------------------------


def test_compose_runs_every_process_and_its_services() -> None:
    """PostgreSQL, Redis, the mail catcher, web, worker and beat are all services."""
    assert {"postgres", "redis", "mailpit", "web", "worker", "beat"} <= set(_compose()["services"])


def test_compose_runs_exactly_one_beat() -> None:
    """Only the beat service runs `celery beat`, once: two schedulers send every reminder twice."""
    services = _compose()["services"]
    beats = [
        name for name, service in services.items() if "celery -A config beat" in _command(service)
    ]
    assert beats == ["beat"]
    beat = services["beat"]
    assert beat.get("scale", 1) == 1
    assert beat.get("deploy", {}).get("replicas", 1) == 1


def test_web_worker_and_beat_share_one_image() -> None:
    """The three processes run the same build of the same image, so they never disagree on code."""
    images = {
        (repr(_service(name).get("build")), _service(name).get("image")) for name in APP_SERVICES
    }
    assert len(images) == 1
    ((build, image),) = images
    assert build != "None"
    assert image


def test_web_health_check_asks_healthz() -> None:
    """Compose probes web through /healthz, which answers 503 when PostgreSQL or Redis is down."""
    healthcheck = _service("web")["healthcheck"]
    assert not healthcheck.get("disable", False)
    assert "http://127.0.0.1:8000/healthz" in " ".join(healthcheck["test"])


def test_worker_and_beat_run_celery_on_the_config_app() -> None:
    """worker runs `celery -A config worker`; beat runs `celery -A config beat` with its schedule
    file in the /app/var volume, so a restart does not forget when tasks last ran."""
    assert _command(_service("worker")).startswith("celery -A config worker")
    beat = _command(_service("beat"))
    assert beat.startswith("celery -A config beat")
    assert "--schedule /app/var/" in beat


def test_web_worker_and_beat_wait_for_healthy_postgres_and_redis() -> None:
    """The processes start only once PostgreSQL and Redis answer their own health checks."""
    assert "pg_isready" in " ".join(_service("postgres")["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(_service("redis")["healthcheck"]["test"])
    for name in APP_SERVICES:
        depends_on = _service(name)["depends_on"]
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for needed in ("postgres", "redis"):
            assert depends_on[needed]["condition"] == "service_healthy", (name, needed)


def test_data_lives_in_named_volumes() -> None:
    """PostgreSQL's data and /app/var (static files, beat's schedule) outlive their containers."""
    volumes = set(_compose().get("volumes") or {})

    def named_volume_at(service: str, target: str) -> str:
        for mount in _service(service).get("volumes", []):
            source, _, rest = str(mount).partition(":")
            if rest.split(":")[0] == target:
                return source
        raise AssertionError(f"{service} mounts nothing at {target}")

    assert named_volume_at("postgres", "/var/lib/postgresql/data") in volumes
    for name in APP_SERVICES:
        assert named_volume_at(name, "/app/var") in volumes


def test_web_worker_and_beat_run_in_production_mode() -> None:
    """DJANGO_ENV=production, so certdesk refuses a missing or weak secret and DEBUG on."""
    for name in APP_SERVICES:
        assert _environment(_service(name))["DJANGO_ENV"] == "production", name


def test_every_production_variable_reaches_web_worker_and_beat() -> None:
    """Each variable certdesk needs in production is set for all three processes, the secrets
    through `${NAME:?...}` so Compose refuses to start without them, and .env feeds the rest."""
    for name in APP_SERVICES:
        service = _service(name)
        environment = _environment(service)
        assert set(PRODUCTION_VARIABLES) <= set(environment), name
        for secret in ("SECRET_KEY", "CERTDESK_ENCRYPTION_KEYS", "CERTDESK_AUDIT_KEY"):
            assert environment[secret].startswith(f"${{{secret}:?"), (name, secret)
        assert "${POSTGRES_PASSWORD:?" in environment["DATABASE_URL"], name
        env_files = service.get("env_file") or []
        assert ".env" in ([env_files] if isinstance(env_files, str) else env_files), name


def test_trial_mail_goes_to_mailpit() -> None:
    """By default emails go to Mailpit over SMTP, whose inbox is published on port 8025."""
    assert "smtp://mailpit:1025" in _environment(_service("web"))["EMAIL_URL"]
    ports = [str(port) for port in _service("mailpit").get("ports", [])]
    assert any(port.endswith(":8025") for port in ports), ports


def test_every_compose_variable_is_listed_in_env_example() -> None:
    """Each `${NAME}` docker-compose.yml reads is documented in .env.example (set or commented)."""
    assert ENV_EXAMPLE.exists(), ".env.example is missing: it lists every variable certdesk reads"
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    listed = set(
        re.findall(r"^[ \t]*#?[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=", text, re.M)
    )
    assert _compose_variables() - listed == set()


# --- Dockerfile and .dockerignore -----------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped.removesuffix("\\").strip() + " "
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            pending = ""
    return instructions


def _dockerfile(keyword: str) -> list[str]:
    return [arguments for name, arguments in _dockerfile_instructions() if name == keyword]


def test_image_is_built_on_python_311_slim() -> None:
    """Every stage starts from python:3.11-slim, the Python pyproject.toml requires."""
    bases = [arguments.split()[0] for arguments in _dockerfile("FROM")]
    assert bases
    assert all(base.startswith("python:3.11-slim") for base in bases), bases


def test_image_runs_as_a_non_root_user() -> None:
    """The last USER is certdesk (uid 10001), not root."""
    users = _dockerfile("USER")
    assert users, "the Dockerfile never leaves root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert "--uid 10001" in " ".join(_dockerfile("RUN"))


def test_image_health_check_matches_compose() -> None:
    """The image's HEALTHCHECK probes /healthz exactly as docker-compose.yml's web service does."""
    (healthcheck,) = _dockerfile("HEALTHCHECK")
    assert "/healthz" in healthcheck
    probe = json.loads(healthcheck[healthcheck.index("CMD ") + len("CMD ") :])
    assert ["CMD", *probe] == _service("web")["healthcheck"]["test"]


def test_image_holds_everything_settings_read_through_base_dir() -> None:
    """manage.py, templates/ and static/ are copied beside config/ in /app, and /app is imported
    first, so BASE_DIR is /app rather than site-packages."""
    copies = " ".join(_dockerfile("COPY"))
    for needed in ("manage.py", "config", "certificates", "templates", "static"):
        assert re.search(rf"(^|\s){needed}\s", copies), needed
    assert _dockerfile("WORKDIR")[-1] == "/app"
    assert "PYTHONPATH=/app" in " ".join(_dockerfile("ENV"))
    assert _dockerfile("CMD") == ['["web"]']


def test_build_context_leaves_out_secrets_and_local_data() -> None:
    """.dockerignore keeps .env, the virtualenv, var/ and .git out of the image."""
    ignored = set(DOCKERIGNORE.read_text(encoding="utf-8").split())
    assert {".env", ".venv", "var", ".git"} <= ignored


# --- docker/entrypoint.sh -------------------------------------------------------------------------


def test_entrypoint_is_valid_executable_sh() -> None:
    """The entry point parses with `sh -n` and is executable (git keeps the bit)."""
    parsed = subprocess.run(
        ["sh", "-n", str(ENTRYPOINT)], capture_output=True, text=True, check=False
    )
    assert parsed.returncode == 0, parsed.stderr
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR


STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$STUB_LOG"
case " $* " in *" ${STUB_FAIL:-no-such-argument} "*) exit 3 ;; esac
"""


def _run_entrypoint(
    tmp_path: Path, *arguments: str, fail: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the entry point with python, gunicorn and celery replaced by stubs; return what ran."""
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for name in ("python", "gunicorn", "celery"):
        (stubs / name).write_text(STUB, encoding="utf-8")
        (stubs / name).chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("", encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"WEB_CONCURRENCY", "LOG_LEVEL", "CERTDESK_VAR_DIR"}
    }
    env.update(PATH=f"{stubs}{os.pathsep}{env['PATH']}", STUB_LOG=str(log), STUB_FAIL=fail)
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=30,
    )
    return result, log.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("arguments", [("web",), ()])
def test_entrypoint_web_migrates_collects_static_then_serves(
    tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    """`web` (also the default) migrates, prints a fresh installation's first-run setup code in
    the container's log, collects static files, then execs gunicorn on :8000."""
    result, calls = _run_entrypoint(tmp_path, *arguments)
    assert result.returncode == 0, result.stderr
    assert calls == [
        "python manage.py migrate --no-input",
        "python manage.py setup_code --if-needed",
        "python manage.py collectstatic --no-input",
        "gunicorn config.wsgi --config python:config.gunicorn_conf --bind 0.0.0.0:8000 --workers 2",
    ]


def test_entrypoint_web_does_not_serve_when_migrations_fail(tmp_path: Path) -> None:
    """A failed migration stops the container instead of serving an old schema."""
    result, calls = _run_entrypoint(tmp_path, "web", fail="migrate")
    assert result.returncode != 0
    assert calls == ["python manage.py migrate --no-input"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("worker",), "celery -A config worker --loglevel INFO"),
        (
            ("beat",),
            "celery -A config beat --loglevel INFO --schedule /app/var/celerybeat-schedule",
        ),
        (("python", "manage.py", "createsuperuser"), "python manage.py createsuperuser"),
    ],
)
def test_entrypoint_starts_worker_beat_or_any_command(
    tmp_path: Path, arguments: tuple[str, ...], expected: str
) -> None:
    """`worker` and `beat` exec Celery; anything else is run as given."""
    result, calls = _run_entrypoint(tmp_path, *arguments)
    assert result.returncode == 0, result.stderr
    assert calls == [expected]
