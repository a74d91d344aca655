from __future__ import annotations


class ServiceError(ValueError):
    """A refusal the user can act on; its message says what was wrong and what to do next.

    ``field`` names the form field it belongs to, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
