"""The coordinators' forms, one class each. A form gathers what was sent and shapes it as
the JSON API takes it; the API's marshmallow schema (services/casework/schemas.py) alone
decides whether it is valid, and its messages, like the service layer's refusals, are
shown on the fields they name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError
from wtforms import (
    Field,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from backbone.errors import Invalid
from backbone.events.case import CONTACT_METHODS, SIGNPOST_METHODS
from backbone.events.vocabulary import NEEDS
from backbone.problems import field_errors
from services.casework import schemas
from services.casework.domain import CHOSEN_OUTCOMES
from services.casework.form_fields import (
    Checkboxes,
    MomentField,
    Radios,
    TextArea,
    WholeNumberField,
)

UNREAL_MOMENT = "Enter a real date and a time, like 27 3 2026 and 14:30."
FOR_THE_REFERRER = "The referrer reads this: no details of the family or of your conversations."
# Where the error summary sends people for a message about no one field: the page's
# heading (a form's title, or the case page's "What to do").
WHOLE_PAGE = "actions"


def choices(options: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, words) pairs as the choices of radios or checkboxes."""
    return [SelectChoice(value, words) for value, words in options]


class SchemaForm(FlaskForm):
    """A form whose answers `schema` judges."""

    schema: ClassVar[type[Schema]]

    def answers(self) -> list[Field]:
        return [field for field in self if field.name != self.meta.csrf_field_name]

    def body(self) -> dict[str, Any]:
        """The answers in the shape `schema` takes. An answer not given is left out, so the
        schema says it is missing."""
        return {field.name: field.data for field in self.answers() if field.data is not None}

    def accepted(self) -> dict[str, Any]:
        """The body as `schema` loads it; Invalid, naming each wrong answer, if it is not."""
        wrong = [
            {"pointer": f"/{field.name}", "detail": field.process_errors[0]}
            for field in self.answers()
            if field.process_errors  # typed so that it could not be shaped at all
        ]
        try:
            loaded = self.schema().load(self.body())
        except ValidationError as error:
            unshaped = {problem["pointer"] for problem in wrong}
            wrong += [e for e in field_errors(error.messages) if e["pointer"] not in unshaped]
        if wrong:
            raise Invalid("Correct the answers shown.", wrong)
        return loaded

    def field_for(self, name: str) -> Field | None:
        """The field that answers the schema's field `name`, if the form shows one."""
        return self._fields.get(name) if name != self.meta.csrf_field_name else None

    def show(self, errors: list[dict[str, str]]) -> None:
        """Show each message ({pointer, detail}, as a refusal names them) on the field its
        JSON Pointer names, the first for each field; one naming none, on the form."""
        for error in errors:
            field = self.field_for(error["pointer"].strip("/").split("/")[0])
            if field is None:
                self.form_errors.append(error["detail"])
            elif not field.errors:
                field.errors = [error["detail"]]

    def error_summary(self) -> dict[str, str]:
        """{id to go to: message} for the GOV.UK error summary, in the order of the page."""
        summary = {WHOLE_PAGE: self.form_errors[0]} if self.form_errors else {}
        for field in self.answers():
            if field.errors:
                summary[getattr(field, "first_input_id", field.id)] = field.errors[0]
        return summary


class CaseForm(SchemaForm):
    """A form with a page of its own, about one case."""

    title: ClassVar[str]
    template: ClassVar[str]


class AllocateForm(CaseForm):
    schema = schemas.AllocationSchema
    title = "Allocate the case"
    template = "form_allocate.html"

    coordinator_id = RadioField("Which coordinator?", widget=Radios())

    def __init__(self, case: dict[str, Any], coordinators: list[dict[str, Any]]) -> None:
        super().__init__()
        self.coordinator_id.choices = choices((c["_id"], c["name"]) for c in coordinators)
        if not self.is_submitted():
            self.coordinator_id.data = case["coordinator_id"]


class ContactForm(CaseForm):
    schema = schemas.ContactSchema
    title = "Record a contact"
    template = "form_contact.html"

    method = RadioField(
        "How were you in touch?", choices=choices(CONTACT_METHODS.items()), widget=Radios()
    )
    happened_at = MomentField(
        "When?", description="For example, 27 3 2026 and 14:30", unreal=UNREAL_MOMENT
    )
    duration_minutes = WholeNumberField("How long, in minutes?")
    needs_addressed = SelectMultipleField("Which needs did it address?", widget=Checkboxes())
    notes = TextAreaField(
        "Notes",
        description="Stay in this case record; the referrer never sees them.",
        widget=TextArea(),
    )

    def __init__(self, case: dict[str, Any]) -> None:
        super().__init__()
        self.needs_addressed.choices = choices((code, NEEDS[code]) for code in case["needs"])

    def body(self) -> dict[str, Any]:
        body = super().body()
        if not body.get("notes", "").strip():
            body.pop("notes", None)  # notes are optional: none typed, none sent
        return body


class NeedsForm(CaseForm):
    schema = schemas.NeedsSchema
    title = "Record needs"
    template = "form_needs.html"

    identified = SelectMultipleField("New needs identified", widget=Checkboxes())
    addressed = SelectMultipleField("Needs now addressed", widget=Checkboxes())

    def __init__(self, case: dict[str, Any]) -> None:
        super().__init__()
        needs = case["needs"]
        self.identified.choices = choices((c, n) for c, n in NEEDS.items() if c not in needs)
        self.addressed.choices = choices(
            (code, NEEDS[code]) for code, state in needs.items() if state["status"] != "addressed"
        )

    def body(self) -> dict[str, Any]:
        return {
            "needs": [{"need": need, "status": "identified"} for need in self.identified.data or []]
            + [{"need": need, "status": "addressed"} for need in self.addressed.data or []]
        }

    def field_for(self, name: str) -> Field | None:
        if name == "needs":  # both groups answer it: the first one shown
            return next((f for f in (self.identified, self.addressed) if f.choices), None)
        return super().field_for(name)


class SignpostForm(CaseForm):
    schema = schemas.SignpostSchema
    title = "Signpost to a service"
    template = "form_signpost.html"

    service_id = RadioField("Services, the family's own area first", widget=Radios())
    method = RadioField("How?", choices=choices(SIGNPOST_METHODS.items()), widget=Radios())
    personal_details_shared = RadioField(
        "Share the family's details with the service?",
        choices=choices([("yes", "Yes, with the family's consent"), ("no", "No")]),
        default="no",  # and "no" when the family did not consent, and so is not asked
        widget=Radios(),
    )

    def __init__(self, services: list[dict[str, Any]]) -> None:
        super().__init__()
        self.service_id.choices = choices(
            (
                service["_id"],
                f"{service['name']} ({service['organization_name']}; "
                f"{', '.join(service['areas'])}; {', '.join(service['phones'])})",
            )
            for service in services
        )

    def body(self) -> dict[str, Any]:
        return {
            **super().body(),
            "personal_details_shared": self.personal_details_shared.data == "yes",
        }


class DeclineForm(CaseForm):
    schema = schemas.DeclineSchema
    title = "Decline the referral"
    template = "form_decline.html"

    reason_for_referrer = TextAreaField(
        "Why is the referral declined?", description=FOR_THE_REFERRER, widget=TextArea()
    )


class CloseForm(CaseForm):
    schema = schemas.CloseSchema
    title = "Close the case"
    template = "form_close.html"

    outcomes = SelectMultipleField(
        "Outcomes", choices=choices(CHOSEN_OUTCOMES.items()), widget=Checkboxes()
    )
    outcome_for_referrer = TextAreaField(
        "What became of the referral, for the referrer",
        description=FOR_THE_REFERRER,
        widget=TextArea(),
    )


# ---- the case page's buttons: forms of one hidden answer, shown by the case page ------


class SupportForm(SchemaForm):
    schema = schemas.SupportSchema

    ongoing = StringField()


class SignpostOutcomeForm(SchemaForm):
    schema = schemas.SignpostOutcomeSchema

    outcome = StringField()
