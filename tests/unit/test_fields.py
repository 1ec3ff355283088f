"""The field types every schema reads input with: what a person may type, and what is
refused before it is stored or shown on a page."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError, fields

from backbone.fields import PHONE, POSTCODE, Moment, StrictFloat, strict_integer, text


class Form(Schema):
    name = text(20)
    phone = fields.String(validate=PHONE)
    postcode = fields.String(validate=POSTCODE)
    minutes = strict_integer()
    latitude = StrictFloat()
    at = Moment()


def refused(**body) -> dict:
    with pytest.raises(ValidationError) as raised:
        Form().load(body)
    return raised.value.messages


def test_text_is_trimmed_and_keeps_newlines_and_tabs():
    assert Form().load({"name": "  Alex\tMorgan\r\nline two "}) == {
        "name": "Alex\tMorgan\nline two"
    }


@pytest.mark.parametrize("blank", ["", " ", "\n\t ", "\u00a0"])
def test_blank_text_is_refused(blank):
    assert refused(name=blank) == {"name": ["Must not be blank."]}


@pytest.mark.parametrize("control", ["a\x00b", "a\x1b[31mb", "a\x7fb", "a\x85b", "a\rb"])
def test_control_characters_other_than_newline_and_tab_are_refused(control):
    assert refused(name=control) == {"name": ["Must not contain control characters."]}


def test_a_lone_surrogate_is_refused():
    assert refused(name="a\ud800") == {"name": ["Must be valid Unicode text."]}


def test_text_longer_than_its_limit_is_refused():
    assert "name" in refused(name="x" * 21)


@pytest.mark.parametrize("field, value", [("phone", "0141 496 0000"), ("postcode", "G2 1AA")])
def test_patterns_match_the_whole_value_not_a_trailing_newline(field, value):
    assert Form().load({field: value}) == {field: value}
    assert field in refused(**{field: value + "\n"})


@pytest.mark.parametrize("value", [1.5, "2", True])
def test_an_integer_must_be_a_json_integer(value):
    assert "minutes" in refused(minutes=value)


@pytest.mark.parametrize("value", ["55.8", True, None])
def test_a_float_must_be_a_json_number(value):
    assert "latitude" in refused(latitude=value)


def test_numbers_as_json_numbers_are_kept():
    assert Form().load({"minutes": 2, "latitude": 55}) == {"minutes": 2, "latitude": 55.0}


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59"])
def test_a_moment_with_no_utc_equivalent_is_invalid_not_an_overflow(value):
    assert "at" in refused(at=value)


def test_a_moment_is_held_in_utc():
    at = Form().load({"at": "2026-11-23T10:00:00+01:00"})["at"]
    assert at.isoformat() == "2026-11-23T09:00:00+00:00"
