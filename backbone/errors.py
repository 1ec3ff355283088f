"""The refusals a service layer raises. Nothing has been changed when one is raised.

Views do not catch them: each app registers handlers that answer them, as an RFC 9457
problem for an API (`backbone.problems`) or as the page again with an error summary.
"""

from __future__ import annotations


class Refused(Exception):
    """Something asked of a service that it will not do; `detail` says why, in words for
    the person who asked, and each of `errors` names a field (a JSON Pointer) and why."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.errors = [{"pointer": field, "detail": detail}] if field else []


class NotFound(Refused):
    """No such thing, or none this caller may know of."""

    status = 404
    title = "Not found"


class Forbidden(Refused):
    """The caller is known but lacks the role this needs."""

    status = 403
    title = "Forbidden"


class NotAllowed(Refused):
    """The request is well formed, but what it asks is not allowed now; `field`, if one
    thing is wrong, names it."""

    status = 422
    title = "Not allowed"


class Invalid(NotAllowed):
    """Several fields are wrong at once: each of `errors` names one."""

    def __init__(self, detail: str, errors: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.errors = errors


class Conflict(Refused):
    """It changed meanwhile: read it again and retry."""

    status = 409
    title = "Conflict"


class Withdrawn(Conflict):
    """It is withdrawn: kept for the record and no longer changed."""

    title = "Withdrawn"


class NotTheVersionRead(Refused):
    """The caller changed what it read at another version (HTTP If-Match)."""

    status = 412
    title = "Precondition failed"
