"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from backbone.errors import Refused

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raise to answer with a problem document; nothing has been changed."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    @classmethod
    def of(cls, refused: Refused) -> Problem:
        """The problem that answers a service layer's refusal."""
        return cls(refused.status, refused.title, refused.detail, refused.errors or None)

    def response(self) -> Response:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        return Response(
            json.dumps(body), status=self.status, mimetype=PROBLEM_JSON, headers=self.headers
        )


class FieldErrorSchema(Schema):
    pointer = fields.String(
        required=True, metadata={"description": "A JSON Pointer (RFC 6901) to the field."}
    )
    detail = fields.String(required=True)


class ProblemSchema(Schema):
    """How every error is answered, in OpenAPI documents: `status` is the HTTP code."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.List(
        fields.Nested(FieldErrorSchema), metadata={"description": "One per invalid field."}
    )


def field_errors(messages: Any, pointer: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow's nested messages into [{pointer, detail}], one per problem.

    The pointer is a JSON Pointer (RFC 6901) into the request body, e.g.
    /family_member/contact/phone, so a client can show each error beside its field.
    """
    if isinstance(messages, dict):
        return [
            error
            for key, value in messages.items()
            for error in field_errors(value, pointer if key == "_schema" else child(pointer, key))
        ]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [{"pointer": pointer or "/", "detail": message} for message in messages]
    if isinstance(messages, list):
        return [error for m in messages for error in field_errors(m, pointer)]
    return [{"pointer": pointer or "/", "detail": str(messages)}]


def child(pointer: str, key: str | int) -> str:
    """The JSON Pointer to `key` inside `pointer`, escaped as RFC 6901 asks."""
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _from_http_exception(error: HTTPException) -> Problem:
    # flask-smorest aborts with 422 and the marshmallow messages when a body is invalid.
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if messages:
        # webargs nests messages under the location: {"json": {...}} or {"query": {...}}.
        location, inner = next(iter(messages.items()))
        return Problem(
            422,
            "The request has invalid fields",
            f"Correct the fields listed in errors ({location}).",
            errors=field_errors(inner),
        )
    return Problem(error.code or 500, error.name, error.description)


def register(app: Flask) -> None:
    app.register_error_handler(Problem, lambda problem: problem.response())
    app.register_error_handler(Refused, lambda refused: Problem.of(refused).response())
    app.register_error_handler(HTTPException, lambda error: _from_http_exception(error).response())
