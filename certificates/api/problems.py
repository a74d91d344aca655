"""Errors as RFC 9457 problem details (``application/problem+json``): the same messages as the
browser's, with the field problems (``errors``) and an upload's open questions (``questions``)
as extension members. Never a traceback, never the input that was refused."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse
from ninja import Schema
from pydantic import Field

PROBLEM_CONTENT_TYPE = "application/problem+json"
# RFC 6750: what a client must send, in every 401.
WWW_AUTHENTICATE = 'Bearer realm="certdesk"'


class IssuerOut(Schema):
    """A CA certificate an upload offers to trust as the environment's Treezor CA."""

    subject: str
    fingerprint: str
    not_after: str


class QuestionOut(Schema):
    """A decision an upload needs: send it again with ``replace`` or ``trust_issuer`` true."""

    kind: str
    message: str
    issuers: list[IssuerOut] = Field(default_factory=list)


class Problem(Schema):
    """RFC 9457 problem details. ``detail`` is what the browser would say; ``errors`` maps the
    request's fields to their problems, every one at once."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: dict[str, str] | None = None
    questions: list[QuestionOut] | None = None


class ApiProblem(Exception):
    """Raised anywhere in the API: answered as a problem with this status and detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Mapping[str, str] | None = None,
        questions: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.questions = questions
        self.headers = dict(headers or {})


def problem_response(problem: ApiProblem) -> HttpResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors:
        body["errors"] = problem.errors
    if problem.questions:
        body["questions"] = problem.questions
    response = HttpResponse(
        json.dumps(body), status=problem.status, content_type=PROBLEM_CONTENT_TYPE
    )
    for header, value in problem.headers.items():
        response[header] = value
    if problem.status == HTTPStatus.UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    # A refusal is about this request only: never kept by a cache.
    response["Cache-Control"] = "no-store"
    return response


def unauthorized(detail: str, *, error: str = "invalid_token") -> ApiProblem:
    """401 with RFC 6750's ``WWW-Authenticate: Bearer`` (and its error code when a token was
    presented)."""
    header = f'{WWW_AUTHENTICATE}, error="{error}"' if error else WWW_AUTHENTICATE
    return ApiProblem(HTTPStatus.UNAUTHORIZED, detail, headers={"WWW-Authenticate": header})


# The statuses every operation may answer with a problem (and some more for some of them).
COMMON_PROBLEMS = (400, 401, 403, 404, 422, 429)


def problem_responses(*extra: int) -> dict[int, type[Problem]]:
    return dict.fromkeys(sorted({*COMMON_PROBLEMS, *extra}), Problem)
