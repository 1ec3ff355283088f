"""WTForms fields and GOV.UK Frontend widgets for casework's forms. The fields gather what
was typed and shape it as the JSON API takes it; none of them judges it (the API's
schemas do), so none has validators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from govuk_frontend_wtf.gov_form_base import GovFormBase
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovRadioInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import Field, StringField
from wtforms.utils import unset_value

from backbone.clock import UK

# The house style: a group's question is a medium legend, a single box's a small label.
LEGEND = "govuk-fieldset__legend--m"
LABEL = "govuk-label--s"


class Radios(GovRadioInput):
    def map_gov_params(self, field: Field, **kwargs: Any) -> dict[str, Any]:
        params = _without_empty_hint(super().map_gov_params(field, **kwargs))
        params["fieldset"]["legend"].setdefault("classes", LEGEND)
        return params


class Checkboxes(GovCheckboxesInput):
    def map_gov_params(self, field: Field, **kwargs: Any) -> dict[str, Any]:
        params = _without_empty_hint(super().map_gov_params(field, **kwargs))
        params["fieldset"]["legend"].setdefault("classes", LEGEND)
        return params


class TextInput(GovTextInput):
    def map_gov_params(self, field: Field, **kwargs: Any) -> dict[str, Any]:
        params = super().map_gov_params(field, **kwargs)
        params["label"].setdefault("classes", LABEL)
        return params


class TextArea(GovTextArea):
    def map_gov_params(self, field: Field, **kwargs: Any) -> dict[str, Any]:
        params = super().map_gov_params(field, **kwargs)
        params["label"].setdefault("classes", LABEL)
        return params


def _without_empty_hint(params: dict[str, Any]) -> dict[str, Any]:
    # govuk-frontend-wtf gives every group a hint, which renders as an empty one.
    if not (params.get("hint") or {}).get("text"):
        params.pop("hint", None)
    return params


class DateAndTimeInput(GovFormBase):
    """GOV.UK Frontend's date input (day, month, year) with the time as a fourth box, all
    in one fieldset whose legend is the question. The boxes are named `<name>-day` and
    so on; the error summary links to the day."""

    template = "govuk_frontend_wtf/date.html"

    def __call__(self, field: Field, **kwargs: Any) -> str:
        kwargs.setdefault("id", field.id)
        return super().__call__(field, **kwargs)

    def map_gov_params(self, field: Field, **kwargs: Any) -> dict[str, Any]:
        params = super().map_gov_params(field, **kwargs)
        typed = dict(zip(MomentField.PARTS, field.raw_data or (), strict=False))
        error = " govuk-input--error" if field.errors else ""
        widths = {"day": 2, "month": 2, "year": 4, "time": 4}
        params["namePrefix"] = field.name
        params["fieldset"] = {"legend": {"text": field.label.text, "classes": LEGEND}}
        params["items"] = [
            {
                "name": part,
                "label": part.capitalize(),
                "classes": f"govuk-input--width-{widths[part]}{error}",
                "value": typed.get(part, ""),
                # a time has a colon, which a numeric keypad lacks
                **({"inputmode": "text"} if part == "time" else {}),
            }
            for part in MomentField.PARTS
        ]
        return params


class MomentField(Field):
    """A moment typed as a day, month, year and time of day in the UK; its data is that
    moment in ISO 8601, as the JSON API takes it. Parts that make no real moment (31 2
    2026, a year past 9999, nothing at all) leave no data and `unreal` as the error."""

    PARTS = ("day", "month", "year", "time")
    widget = DateAndTimeInput()

    def __init__(self, label: str, *, unreal: str, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.unreal = unreal

    @property
    def first_input_id(self) -> str:
        """Where the error summary sends people: the day box."""
        return f"{self.id}-day"

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.object_data = None
        self.data = None
        self.raw_data = None
        if formdata is None:
            return
        self.raw_data = [formdata.get(f"{self.name}-{part}", "").strip() for part in self.PARTS]
        try:
            self.data = _moment(*self.raw_data).isoformat()
        except (ValueError, OverflowError):
            self.process_errors.append(self.unreal)


def _moment(day: str, month: str, year: str, time: str) -> datetime:
    hour, minute = (int(number) for number in time.split(":"))
    return datetime(int(year), int(month), int(day), hour, minute, tzinfo=UK)


class WholeNumberField(StringField):
    """A whole number typed in a box, as the JSON number the schema takes; anything else
    as typed, for the schema to refuse in its own words; nothing typed is None."""

    widget = TextInput()

    def process_formdata(self, valuelist: list[str]) -> None:
        typed = valuelist[0].strip() if valuelist else ""
        self.data = int(typed) if typed.isascii() and typed.isdigit() else typed or None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)
