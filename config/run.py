"""``make run``: web, Celery worker and beat in one terminal; Ctrl-C stops all three.

A laptop convenience on the embedded default; production runs each process on its own
(docker-compose.yml). If any of the three exits, the others are stopped too, so a half-running
certdesk (web up, reminders silently off) never goes unnoticed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10
# Group and others get no permission on any file the three processes create.
PRIVATE_UMASK = 0o077


def _commands(port: str) -> dict[str, list[str]]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "config"]
    return {
        "web": [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "INFO"],
    }


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def site_url_warning(site_url: str, port: str) -> str | None:
    """The start-up line when the emails' links (``CERTDESK_SITE_URL``) name another port than
    the one served here, else None: a link to :8000 while the site is on :8001 opens nothing
    (or another program)."""
    try:
        parts = urlsplit(site_url)
        configured = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        configured = None
    if configured is not None and str(configured) == str(port).strip():
        return None
    return (
        f"certdesk: WARNING: CERTDESK_SITE_URL is {site_url}, but this site is served on port "
        f"{port}: the links in its emails will not open it. Set "
        f"CERTDESK_SITE_URL=http://127.0.0.1:{port} (or leave it unset), unless a proxy serves "
        "certdesk at that address."
    )


def _first_run_banner() -> None:
    """While no one can log in: issue the one-time setup code at the first start (a WARNING
    line "certdesk: first-run setup code: ..." in this console) and say where it goes."""
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    from certificates.services import Actor, setup_code_announce

    sys.stdout.flush()  # the banner so far before the log line (stderr)
    try:
        if get_user_model().objects.exists():
            return
        issued = setup_code_announce(actor=Actor.system("make run"))
    except DatabaseError:
        return  # not migrated yet (`make run` migrates first); the first visit issues the code
    if issued:
        print("certdesk: no administrator yet: the first page asks for the setup code above.")
    else:
        print(
            "certdesk: no administrator yet: the first page asks for the setup code printed at "
            "the first start; `.venv/bin/python manage.py setup_code` prints a new one."
        )


def _start_banner(port: str) -> None:
    """What the console says before the three processes start: where to open certdesk, a
    warning when the emails' links point elsewhere, where emails go, the first-run code."""
    from django.conf import settings

    mail = getattr(settings, "EMAIL_FILE_PATH", None)
    print(f"certdesk: open http://127.0.0.1:{port}/ in your browser.")
    if (warning := site_url_warning(settings.CERTDESK_SITE_URL, port)) is not None:
        print(warning)
    if mail:
        print(f"certdesk: emails are written as files under {mail}")
    else:
        print(f"certdesk: emails are sent through {settings.EMAIL_BACKEND}")
    _first_run_banner()


def main() -> int:
    # Everything web, worker and beat create (the database, broker messages, beat's schedule,
    # mail, cache) is for the owner only; the children inherit this umask. Settings also create
    # and tighten var/ (config/environment.py) for processes started otherwise.
    os.umask(PRIVATE_UMASK)
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    port = os.environ.get("PORT", "8000")
    _start_banner(port)
    print("certdesk: starting web, worker and beat; press Ctrl-C to stop them all.", flush=True)

    children = {name: subprocess.Popen(cmd) for name, cmd in _commands(port).items()}
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    exit_code = 0
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"certdesk: {name} exited with {child.returncode}; stopping the others.")
                    exit_code = child.returncode or 1
                    stopping = True
                    break
            else:
                time.sleep(0.5)
    finally:
        _stop(children)
    print("certdesk: stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
