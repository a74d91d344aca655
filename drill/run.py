"""``make drill`` (``python -m drill [CASE...]``): inject faults into a local certdesk stack of
its own and print what users and monitoring saw.

The stack, all under a temporary folder and on spare ports: a PostgreSQL cluster, a Redis (broker
and cache), gunicorn (2 sync workers, 30 s timeout), a Celery worker and beat, and an SMTP sink.
Cases: baseline, broker-down (Redis killed, then restarted), broker-frozen (Redis SIGSTOPped,
then SIGCONT) and database-frozen (the postmaster and its backends SIGSTOPped, then SIGCONT).
For each: what /healthz answers and how long it took, what "Send to the TAM" (a POST through
the app, as a browser makes it) answers, what ``list_certificates`` exits with, and whether the
email leaves once the fault is lifted. Everything started is stopped by process id at the end,
whatever happens. Variables: DRILL_EMAIL_WAIT_SECONDS (how long to wait for an email once the
fault is lifted, 150 by default). Exit 0 when the drill ran (whatever it found), 1 otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any, TextIO

import requests

from drill.stack import PostgresCluster, RedisServer, free_port

BASE_DIR = Path(__file__).resolve().parent.parent
CASES = ("baseline", "broker-down", "broker-frozen", "database-frozen")
USERNAME = "drill"
PASSWORD = "drill-password-not-secret"  # noqa: S105 - the drill's own throw-away database
HTTP_TIMEOUT = 60
# The drill's beat re-queues never-attempted emails this often (production default: 60 s).
REQUEUE_SECONDS = 10


def say(text: str = "", stream: TextIO = sys.stdout) -> None:
    stream.write(text + "\n")
    stream.flush()


@dataclass
class Row:
    case: str
    healthz: str
    send: str
    list_certificates: str
    after: str


@dataclass
class Timed:
    value: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.value} ({self.seconds:.1f} s)"


def timed(action: Callable[[], str]) -> Timed:
    began = time.monotonic()
    try:
        value = action()
    except requests.RequestException as error:
        value = f"no answer: {type(error).__name__}"
    return Timed(value, time.monotonic() - began)


def _messages(html: str) -> str:
    found = re.findall(r'<li class="message[^"]*">(.*?)</li>', html, re.S)
    found += re.findall(r'<p class="message[^"]*">(.*?)</p>', html, re.S)
    return " | ".join(" ".join(unescape(re.sub(r"<[^>]+>", "", m)).split()) for m in found)


def _hidden(html: str, name: str) -> str | None:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    return match.group(1) if match else None


class Stack:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir()
        self.mail = folder / "mail"
        self.postgres = PostgresCluster()
        self.redis = RedisServer(folder / "redis")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.port = free_port()
        self.smtp_port = free_port()
        self.session = requests.Session()
        self.env: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []

    # --- starting and stopping ---------------------------------------------------------------

    def start(self) -> None:
        self.postgres.start()
        self.redis.start()
        self.env = {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "development",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}",
            "CERTDESK_VAR_DIR": str(self.folder / "var"),
            "CERTDESK_ENCRYPTION_KEYS": "ZHJpbGwtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=",
            "CERTDESK_AUDIT_KEY": "ZHJpbGwtb25seS1hdWRpdC1rZXktMzItYnl0ZXMtbG9u",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CERTDESK_HTTPS": "false",
            "CERTDESK_SITE_URL": f"http://127.0.0.1:{self.port}",
            "CERTDESK_OUTBOX_REQUEUE_SECONDS": str(REQUEUE_SECONDS),
            "LOG_LEVEL": "WARNING",
        }
        self._spawn(
            "smtp-sink",
            [sys.executable, "-m", "drill.smtpsink", str(self.smtp_port), str(self.mail)],
        )
        self._manage("migrate", "--no-input")
        seeded = self._run([sys.executable, "-m", "drill.seed", USERNAME, PASSWORD])
        self.requests = json.loads(seeded.stdout.strip().splitlines()[-1])
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--timeout",
                "30",
            ],
        )
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        self._spawn("worker", [*celery, "worker", "--pool", "solo", "--loglevel", "WARNING"])
        self._spawn(
            "beat",
            [*celery, "beat", "--loglevel", "WARNING", "-s", str(self.folder / "beat-schedule")],
        )
        self._wait_healthy(60)
        self._login()

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def _run(self, command: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            command,
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command[1:3])} failed: {completed.stderr[-2000:]}")
        return completed

    def _manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run([sys.executable, "manage.py", *args])

    def stop(self) -> None:
        """Every process the drill started, by pid: thawed first, SIGTERM, SIGKILL if needed."""
        self.postgres.thaw()
        self.redis.thaw()
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.redis.stop()
        self.postgres.stop()

    # --- talking to it -----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _wait_healthy(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url("/healthz"), timeout=10).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.5)
        return False

    def _login(self) -> None:
        page = self.session.get(self.url("/login/"), timeout=HTTP_TIMEOUT).text
        response = self.session.post(
            self.url("/login/"),
            data={
                "login": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken") or "",
            },
            timeout=HTTP_TIMEOUT,
        )
        if "/login/" in response.url:
            raise RuntimeError("the drill could not log in")

    def healthz(self) -> str:
        response = requests.get(self.url("/healthz"), timeout=HTTP_TIMEOUT)
        body = response.json()
        down = ", ".join(f"{name}: {why}" for name, why in body.get("problems", {}).items())
        return f"{response.status_code}" + (f" ({down})" if down else "")

    def send_form(self, request: dict[str, Any]) -> dict[str, str]:
        """What the browser holds once the send page is loaded (before the fault)."""
        path = f"/environments/{request['environment']}/send/?request={request['id']}"
        page = self.session.get(self.url(path), timeout=HTTP_TIMEOUT).text
        data = {
            "csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken") or "",
            "requests": str(request["id"]),
            "send": "",
        }
        if (token := _hidden(page, "token")) is not None:
            data["token"] = token
        return data

    def send(self, request: dict[str, Any], form: dict[str, str]) -> tuple[str, str | None]:
        """The POST's status, and where it redirects to (read once the fault is lifted)."""
        response = self.session.post(
            self.url(f"/environments/{request['environment']}/send/"),
            data=form,
            timeout=HTTP_TIMEOUT,
            allow_redirects=False,
        )
        if response.is_redirect:
            return f"{response.status_code}", response.headers["Location"]
        said = _messages(response.text)
        return f"{response.status_code}" + (f": {said}" if said else ""), None

    def said_after_redirect(self, location: str) -> str:
        try:
            page = self.session.get(self.url(location), timeout=HTTP_TIMEOUT).text
        except requests.RequestException as error:
            return f"(the next page did not load: {type(error).__name__})"
        return _messages(page)

    def list_certificates(self) -> str:
        try:
            completed = subprocess.run(
                [sys.executable, "manage.py", "list_certificates"],
                cwd=BASE_DIR,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=HTTP_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"hung (killed after {HTTP_TIMEOUT} s)"
        said = completed.stderr.strip().splitlines()[-1:] or [""]
        return f"exit {completed.returncode}" + (f": {said[0][:120]}" if said[0] else "")

    def emails(self) -> int:
        return len(list(self.mail.glob("*.eml")))

    def email_state(self, request_id: int, after: int) -> tuple[str, int]:
        """The request's status and the states of the TAM emails stored after email #after;
        and the newest email's id."""
        script = (
            "from certificates.models import OutboundEmail, SigningRequest\n"
            f"r = SigningRequest.objects.get(pk={request_id})\n"
            "q = OutboundEmail.objects.filter(kind='tam_csr').order_by('pk')\n"
            f"new = q.filter(pk__gt={after})\n"
            "new = [f'{e.status} after {e.attempts} attempt(s)' for e in new]\n"
            "last = q.last()\n"
            "new = ', '.join(new) or 'no email stored'\n"
            "print(r.status, '/', new, '/', last.pk if last else 0)\n"
        )
        completed = self._manage("shell", "--no-imports", "-c", script)
        status, emails, newest = completed.stdout.strip().splitlines()[-1].split(" / ")
        return f"request {status}; {emails}", int(newest)

    # --- the cases ---------------------------------------------------------------------------

    def run_case(self, case: str, request: dict[str, Any], wait: float) -> Row:
        form = self.send_form(request)
        emails_before = self.emails()
        _, newest = self.email_state(request["id"], after=0)
        inject, lift = self._fault(case)
        inject()
        try:
            health = timed(self.healthz)
            location: str | None = None

            def post() -> str:
                nonlocal location
                status, location = self.send(request, form)
                return status

            sent = timed(post)
            listed = timed(self.list_certificates)
        finally:
            lifted_at = time.monotonic()
            lift()
        said = self.said_after_redirect(location) if location else ""
        left = "no"
        stored, _ = self.email_state(request["id"], after=newest)
        if "no email stored" in stored:
            wait, left = 0, "nothing was stored: nothing to send"
        while time.monotonic() - lifted_at < wait:
            if self.emails() > emails_before:
                left = f"yes, {time.monotonic() - lifted_at:.0f} s after"
                break
            time.sleep(0.5)
        state, _ = self.email_state(request["id"], after=newest)
        self._wait_healthy(60)
        send_text = f"{sent}" + (f": {said}" if said else "")
        return Row(case, str(health), send_text, str(listed), f"{left} [{state}]")

    def _fault(self, case: str) -> tuple[Callable[[], None], Callable[[], None]]:
        if case == "baseline":
            return (lambda: None), (lambda: None)
        if case == "broker-down":
            port = self.redis.port

            def restart() -> None:
                self.redis = RedisServer(self.folder / "redis", port=port).start()

            return self.redis.kill, restart
        if case == "broker-frozen":
            return self.redis.freeze, self.redis.thaw
        if case == "database-frozen":
            return self.postgres.freeze, self.postgres.thaw
        raise ValueError(f"unknown case {case!r}; choose from {', '.join(CASES)}")


def table(rows: list[Row]) -> list[str]:
    header = ["case", "/healthz", "Send to the TAM", "list_certificates", "email once lifted"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.case, row.healthz, row.send, row.list_certificates, row.after]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return lines


def main(argv: list[str]) -> int:
    cases = argv or list(CASES)
    for case in cases:
        if case not in CASES:
            say(f"Unknown case {case!r}; choose from {', '.join(CASES)}.", sys.stderr)
            return 2
    wait = float(os.environ.get("DRILL_EMAIL_WAIT_SECONDS") or 150)
    folder = Path(tempfile.mkdtemp(prefix="certdesk-drill-"))
    stack = Stack(folder)
    rows: list[Row] = []
    began = time.monotonic()
    try:
        say(f"Starting the stack under {folder} ...")
        stack.start()
        for case, request in zip(cases, stack.requests, strict=False):
            say(f"Case {case} ...")
            rows.append(stack.run_case(case, request, wait))
    except Exception as error:
        say(f"The drill stopped: {type(error).__name__}: {error}", sys.stderr)
        say(f"Logs: {stack.logs}", sys.stderr)
        return 1
    finally:
        stack.stop()
        if rows and len(rows) == len(cases):
            shutil.rmtree(folder, ignore_errors=True)
        for line in table(rows):
            say(line)
        say()
        say(
            "Send: HTTP status, time, then what the next page said. Email once lifted: whether "
            "the SMTP sink got it, then [request status, outbox email status, attempts]. "
            f"Whole run {time.monotonic() - began:.0f} s."
        )
    return 0
