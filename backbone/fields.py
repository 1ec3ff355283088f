"""The field types every schema reads input with, so each rule about input is written once.

Free text is `Text`; a pattern is `matching` (the whole value, because `$` alone also
matches before a trailing newline); a number sent in JSON must be a JSON number
(`strict_integer`, `StrictFloat`), never a string or a float cut down to an integer; a
moment in time is `Moment`, held in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from marshmallow import ValidationError, fields, validate

# C0 and C1 control characters and DEL, but tab and newline, which people type.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def has_lone_surrogate(value: str) -> bool:
    """True for a string no UTF-8 encoder accepts: JSON's "\\ud800" decodes to one."""
    return _LONE_SURROGATE.search(value) is not None


class Text(fields.String):
    """Text as a person types it: trimmed (Windows line ends made plain newlines), never
    blank, and free of control characters other than newline and tab."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "blank": "Must not be blank.",
        "control": "Must not contain control characters.",
        "surrogate": "Must be valid Unicode text.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if has_lone_surrogate(text):
            raise self.make_error("surrogate")
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise self.make_error("blank")
        if _CONTROL.search(text):
            raise self.make_error("control")
        return text


def text(max_length: int, **kwargs: Any) -> Text:
    return Text(validate=validate.Length(min=1, max=max_length), **kwargs)


def identifier(**kwargs: Any) -> Text:
    """An id as a client sends it: one of ours, or one kept from an imported record."""
    return text(100, **kwargs)


def one_of(vocabulary: dict[str, str] | list[str], error: str = "") -> validate.OneOf:
    return validate.OneOf(list(vocabulary), error=error or "Must be one of: {choices}.")


class WholeMatch(validate.Regexp):
    """The whole value matches, with nothing after it: not even the newline that `$` lets
    through. The pattern is kept as ^...$ for OpenAPI, which JavaScript clients read."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def matching(pattern: str, error: str) -> WholeMatch:
    return WholeMatch(f"^(?:{pattern})$", error=error)


def strict_integer(**kwargs: Any) -> fields.Integer:
    """A JSON integer: "2" and 1.5 are refused, not read as 2 and 1."""
    return fields.Integer(strict=True, **kwargs)


class StrictFloat(fields.Float):
    """A JSON number: a string such as "55.8" is refused."""

    def _validated(self, value: Any) -> float:
        if not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Moment(fields.AwareDateTime):
    """A date and time with its offset, held in UTC. One that has no UTC equivalent (such
    as 0001-01-01T00:00:00+00:01) is invalid, not an overflow later."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from error


PHONE = matching(r"\+?[0-9][0-9 ()-]{6,19}", error="Enter a telephone number, like 0141 496 0000.")
POSTCODE = matching(
    r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}", error="Enter a real postcode, like G2 1AA."
)
