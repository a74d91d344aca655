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


def main() -> int:
    # Everything web, worker and beat create (the database, broker messages, beat's schedule,
    # mail, cache) is for the owner only; the children inherit this umask. Settings also create
    # and tighten var/ (config/environment.py) for processes started otherwise.
    os.umask(PRIVATE_UMASK)
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    port = os.environ.get("PORT", "8000")
    mail = getattr(settings, "EMAIL_FILE_PATH", None)
    print(f"certdesk: open http://127.0.0.1:{port}/ in your browser.")
    if mail:
        print(f"certdesk: emails are written as files under {mail}")
    else:
        print(f"certdesk: emails are sent through {settings.EMAIL_BACKEND}")
    _first_run_banner()
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
