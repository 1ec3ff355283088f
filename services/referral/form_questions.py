"""The referral form's question pages, in order: each page's fields, what each asks and
where its answer goes in the referral's JSON (the body the API takes), and each field's
own words for an answer missing or not of its kind. The rules that use them are in
referral_form.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from backbone.events import vocabulary as v
from backbone.events.referral import ReferralSchema

YES_NO = {"yes": "Yes", "no": "No"}
# marshmallow's words for "nothing given" and "not a value of this kind": each field says
# these in its own words; a rule's own message (consent not given, too many ages) is kept.
_MISSING = {"Missing data for required field.", "Field may not be null.", "Must not be blank."}
_NOT_A_VALUE = ("Not a valid", "Must be one of")


@dataclass(frozen=True)
class Field:
    """One answer on a page. `name` is the form field's name and its element's id (a date
    is three boxes, `<name>-day`, `-month`, `-year`); `path` is where the answer goes in
    the referral's JSON."""

    name: str
    path: tuple[str, ...]
    label: str
    kind: str  # text, textarea, number, numbers, date, yes_no, radios, select, checkboxes
    missing: str = ""
    invalid: str = ""
    hint: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)
    default: str = ""  # the choice preselected while the question is unanswered
    width: str = ""
    autocomplete: str = ""

    @property
    def anchor(self) -> str:
        """The element the error summary links to: a date's day box, a group's first item."""
        return f"{self.name}-day" if self.kind == "date" else self.name

    def words(self, message: str) -> str:
        if message in _MISSING:
            return self.missing or message
        if message.startswith(_NOT_A_VALUE):
            return self.invalid or self.missing or message
        return message


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    fields: tuple[Field, ...]
    caption: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """The referral's top-level keys this page answers (or answers part of)."""
        return tuple(dict.fromkeys(f.path[0] for f in self.fields))

    @cached_property
    def schema(self) -> ReferralSchema:
        return ReferralSchema(only=self.keys)

    def field_for(self, path: tuple[Any, ...], message: str) -> Field | None:
        """The field a message about `path` belongs on: the field at or above `path`, or,
        for a rule about a group of answers (such as "contact"), the one the message names."""
        for f in self.fields:
            if f.path == path[: len(f.path)]:
                return f
        below = [f for f in self.fields if f.path[: len(path)] == path]
        named = [f for f in below if f.path[-1].replace("_", " ") in message]
        return (named or below or [None])[0]


def _text(name: str, path: tuple[str, ...], label: str, **kwargs: Any) -> Field:
    return Field(name, path, label, "text", **kwargs)


PAGES: tuple[Page, ...] = (
    Page(
        "consent",
        "Consent",
        (
            Field(
                "consent_given",
                ("consent", "referral"),
                "Has the family member agreed to be referred?",
                "yes_no",
                hint="Without their consent there can be no referral.",
                missing="Select yes if the family member has agreed to be referred",
                choices=YES_NO,
            ),
            Field(
                "share_with_agencies",
                ("consent", "share_with_agencies"),
                "Have they agreed that their details may be shared with the agencies the "
                "coordinator introduces them to?",
                "yes_no",
                missing="Select yes if they agreed their details may be shared with agencies",
                choices=YES_NO,
            ),
            Field(
                "consent_date",
                ("consent", "recorded_on"),
                "When did they agree?",
                "date",
                hint="For example, 27 3 2026",
                missing="Enter the date they agreed",
                invalid="The date they agreed must be a real date, like 27 3 2026",
            ),
        ),
    ),
    Page(
        "about-you",
        "About you",
        (
            Field(
                "team",
                ("referrer", "team"),
                "Which team are you in?",
                "radios",
                missing="Select your team",
                choices=v.REFERRING_TEAMS,
            ),
            Field(
                "role",
                ("referrer", "role"),
                "What is your role?",
                "radios",
                missing="Select your role",
                choices=v.REFERRER_ROLES,
            ),
        ),
    ),
    Page(
        "family-member",
        "The family member",
        (
            _text(
                "full_name",
                ("family_member", "name"),
                "Full name",
                missing="Enter the family member's full name",
                width="govuk-!-width-two-thirds",
                autocomplete="off",
            ),
            Field(
                "date_of_birth",
                ("family_member", "date_of_birth"),
                "Date of birth (optional)",
                "date",
                hint="For example, 12 4 1986",
                invalid="Date of birth must be a real date, like 12 4 1986",
            ),
            Field(
                "relationship",
                ("family_member", "relationship_to_person_in_custody"),
                "What is their relationship to the person in custody?",
                "radios",
                missing="Select their relationship to the person in custody",
                choices=v.RELATIONSHIPS,
            ),
            Field(
                "local_authority",
                ("family_member", "local_authority"),
                "Which council area do they live in?",
                "select",
                missing="Select the council area they live in",
                choices=v.LOCAL_AUTHORITIES,
            ),
        ),
    ),
    Page(
        "contact",
        "How to reach them safely",
        (
            Field(
                "contact_method",
                ("family_member", "preferred_contact_method"),
                "How should the coordinator contact them?",
                "radios",
                hint="Choose \u201cDo not contact\u201d if contacting them directly is not safe: "
                "say in the notes how to reach them through you.",
                missing="Select how the coordinator should contact them",
                choices=v.CONTACT_METHODS,
            ),
            _text(
                "phone",
                ("family_member", "contact", "phone"),
                "Telephone (optional)",
                width="govuk-input--width-20",
                autocomplete="off",
            ),
            _text(
                "email",
                ("family_member", "contact", "email"),
                "Email address (optional)",
                invalid="Enter an email address in the correct format, like name@example.com",
                width="govuk-!-width-two-thirds",
                autocomplete="off",
            ),
            _text(
                "address_line_1",
                ("family_member", "contact", "address_line_1"),
                "Address line 1 (optional)",
                width="govuk-!-width-two-thirds",
                autocomplete="off",
            ),
            _text(
                "address_line_2",
                ("family_member", "contact", "address_line_2"),
                "Address line 2 (optional)",
                width="govuk-!-width-two-thirds",
                autocomplete="off",
            ),
            _text(
                "town",
                ("family_member", "contact", "town"),
                "Town or city (optional)",
                width="govuk-!-width-one-half",
                autocomplete="off",
            ),
            _text(
                "postcode",
                ("family_member", "contact", "postcode"),
                "Postcode (optional)",
                width="govuk-input--width-10",
                autocomplete="off",
            ),
            Field(
                "safe_contact_notes",
                ("family_member", "safe_contact_notes"),
                "Safe contact notes (optional)",
                "textarea",
                hint="For example, times to avoid, whether messages may be left, who else "
                "may answer the phone.",
            ),
        ),
    ),
    Page(
        "person-in-custody",
        "The person in custody",
        (
            Field(
                "custody_status",
                ("person_in_custody", "status"),
                "Are they on remand, sentenced or released?",
                "radios",
                missing="Select whether they are on remand, sentenced or released",
                choices=v.CUSTODY_STATUSES,
            ),
            Field(
                "establishment",
                ("person_in_custody", "establishment"),
                "Which prison are they in, or were they released from?",
                "select",
                missing="Select the prison",
                choices=v.ESTABLISHMENTS,
            ),
            Field(
                "expected_release_date",
                ("person_in_custody", "expected_release_date"),
                "Expected release date (optional)",
                "date",
                hint="For example, 30 6 2027",
                invalid="Expected release date must be a real date, like 30 6 2027",
            ),
        ),
    ),
    Page(
        "children",
        "The children",
        (
            Field(
                "children_number",
                ("children", "number"),
                "How many children under 18 are in the family?",
                "number",
                hint="Enter 0 if there are none.",
                missing="Enter how many children there are, or 0",
                invalid="Enter how many children there are as a whole number, like 2",
                width="govuk-input--width-3",
            ),
            Field(
                "children_ages",
                ("children", "ages"),
                "Their ages (optional)",
                "numbers",
                hint="Separate the ages with commas, like 4, 9.",
                invalid="Enter each age as a whole number, separated by commas, like 4, 9",
                width="govuk-input--width-10",
            ),
            Field(
                "care_arrangement",
                ("children", "care_arrangement"),
                "Who are the children living with?",
                "radios",
                hint="Answer if there are children.",
                invalid="Select who the children are living with",
                choices=v.CARE_ARRANGEMENTS,
            ),
            Field(
                "child_protection",
                ("children", "child_protection_involvement"),
                "Is social work involved in child protection for any of the children?",
                "yes_no",
                missing="Select yes if social work is involved in child protection",
                choices=YES_NO,
            ),
        ),
    ),
    Page(
        "needs",
        "Needs",
        (
            Field(
                "needs",
                ("needs",),
                "What does the family need help with?",
                "checkboxes",
                hint="Select all that apply.",
                invalid="Select what the family needs help with",
                choices=v.NEEDS,
            ),
        ),
    ),
    Page(
        "why-now",
        "Why now",
        (
            Field(
                "urgency",
                ("urgency",),
                "How urgent is the referral?",
                "radios",
                missing="Select how urgent the referral is",
                choices=v.URGENCIES,
                default="routine",
            ),
            Field(
                "reason",
                ("reason",),
                "Why are you referring the family now?",
                "textarea",
                hint="What has happened, and what the family hopes for. The coordinator "
                "reads this before contacting them.",
                missing="Enter why you are referring the family now",
            ),
        ),
    ),
)
BY_SLUG = {page.slug: page for page in PAGES}
