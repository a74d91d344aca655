"""Request bodies are capped before anything reads them (issue 12, point 8): a declared
Content-Length over CERTDESK_REQUEST_MAX_BYTES is refused with 413 without reading a byte, a
chunked body is refused as soon as it passes the cap, and no upload is spooled to a temp file."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any
from wsgiref.util import is_hop_by_hop

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.test import Client

import config.gunicorn_conf
from certificates.middleware import CHUNK_BYTES

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


class CountingBody(io.BytesIO):
    """A body of ``size`` bytes that remembers how much of it was read."""

    def __init__(self, size: int) -> None:
        super().__init__(b"x" * size)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        piece = super().read(size)
        self.read_bytes += len(piece)
        return piece


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def test_the_limit_is_two_uploads_and_64_kib_and_django_agrees() -> None:
    """CERTDESK_REQUEST_MAX_BYTES is twice CERTDESK_UPLOAD_MAX_BYTES plus 64 KiB, and Django's
    own in-memory limits are the same, so an accepted file never goes to a temp file."""
    limit = settings.CERTDESK_UPLOAD_MAX_BYTES * 2 + 64 * 1024
    assert limit == settings.CERTDESK_REQUEST_MAX_BYTES
    assert limit == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit == settings.FILE_UPLOAD_MAX_MEMORY_SIZE


def test_a_200_mb_content_length_is_refused_without_reading_the_body() -> None:
    """An anonymous POST announcing 200 MB gets 413 and the "Too large" page; the body is
    never touched (reading it would fail the test)."""
    response = Client().generic(
        "POST",
        "/login/",
        b"",
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
        **{"wsgi.input": UnreadableBody()},  # type: ignore[arg-type]
    )
    assert response.status_code == 413
    assert "larger than certdesk accepts" in text(response)
    # A hop-by-hop header from the application breaks WSGI servers (runserver answered 500).
    assert not [name for name in response.headers if is_hop_by_hop(name)]


def test_a_chunked_body_over_the_cap_is_refused_after_reading_at_most_the_cap() -> None:
    """A chunked body (no Content-Length) of ten times the cap is refused with 413 as soon as
    it passes the cap: no more than the cap and one 64 KiB piece is read."""
    limit = settings.CERTDESK_REQUEST_MAX_BYTES
    body = CountingBody(10 * limit)
    response = Client().generic(
        "POST",
        "/login/",
        b"",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": body},  # type: ignore[arg-type]
    )
    assert response.status_code == 413
    assert body.read_bytes <= limit + CHUNK_BYTES


def test_a_chunked_body_within_the_cap_is_parsed_as_usual(admin_user: User) -> None:
    """A small chunked login form still logs in: the cap does not break chunked clients."""
    admin_user.set_password("a long admin password")
    admin_user.save()
    form = b"login=admin&password=a+long+admin+password"
    client = Client()
    response = client.generic(
        "POST",
        "/login/",
        b"",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(form)},  # type: ignore[arg-type]
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_large_upload_writes_no_temporary_file(
    admin_client: Client, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5 MB file posted to the certificate upload (spooled to /tmp before the change) is
    refused with 413 and no temporary upload file is ever created."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(uploads)
    created: list[str] = []
    original = TemporaryUploadedFile.__init__

    def recording(self: TemporaryUploadedFile, *args: Any, **kwargs: Any) -> None:
        created.append(str(args[0] if args else kwargs.get("name")))
        original(self, *args, **kwargs)

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", recording)
    big = io.BytesIO(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (5 * 1024 * 1024))
    big.name = "huge.pem"
    response = admin_client.post("/certificates/upload/", {"certificate": big})
    assert response.status_code == 413
    assert created == []
    assert list(uploads.iterdir()) == []


def test_gunicorn_bounds_the_request_line_headers_and_time() -> None:
    """The gunicorn configuration the container uses sets the request-line, header-count and
    header-size limits and the worker timeout, and masks the calendar token in access lines."""
    assert config.gunicorn_conf.limit_request_line == 4094
    assert config.gunicorn_conf.limit_request_fields == 50
    assert config.gunicorn_conf.limit_request_field_size == 8190
    assert config.gunicorn_conf.timeout == 30
    assert config.gunicorn_conf.logger_class == "config.gunicorn_conf.GunicornLogger"


@pytest.mark.slow
def test_gunicorn_accepts_the_configuration() -> None:
    """`gunicorn --check-config` loads config/gunicorn_conf.py as the entry point names it."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--config",
            "python:config.gunicorn_conf",
            "--check-config",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
