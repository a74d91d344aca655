from __future__ import annotations

from collections.abc import Mapping


class ServiceError(ValueError):
    """A refusal the user can act on; its message says what was wrong and what to do next.

    ``errors`` maps form field names to their problems, every one found at once (as
    ``crypto.SubjectError`` does for a subject); ``field`` is the first of them, or None for a
    refusal that belongs to no field. ``ServiceError(message, field=...)`` is a refusal with one
    field problem; ``ServiceError.of(errors)`` one with several, its message joining them.
    """

    def __init__(
        self,
        message: str = "",
        *,
        field: str | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        problems: dict[str, str] = dict(errors or {})
        if field is not None and field not in problems:
            problems = {field: message, **problems}
        if not message:
            message = " ".join(problems.values())
        super().__init__(message)
        self.message = message
        self.errors = problems
        self.field = field if field is not None else next(iter(problems), None)

    @classmethod
    def of(cls, errors: Mapping[str, str], message: str = "") -> ServiceError:
        """One refusal for every field problem found (``errors``: field name -> message)."""
        return cls(message, errors=errors)

    def __str__(self) -> str:
        return self.message
