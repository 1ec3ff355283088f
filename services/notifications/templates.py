"""Message templates in the style of GOV.UK Notify: plain-text files with a subject line,
paragraphs, `* ` bullets, `^ ` inset text, `# ` headings and `((named))` placeholders
(`((name??words))` shows the words only when `name` is set; a paragraph that is one list
placeholder becomes bullets). Each renders to a plain-text part and a simple, accessible
HTML part. Every template is checked when a process starts (`check_all`): a template that
is missing, has no subject or uses a placeholder its kind does not give fails then, not
when a message is sent.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.notifications.kinds import KINDS, Kind

FOLDER = Path(__file__).resolve().parent / "messages"
PLACEHOLDER = re.compile(r"\(\(([a-z_]+)(?:\?\?([^()]*))?\)\)")
URL = re.compile(r"https?://[^\s<>\"]+")


class TemplateError(ValueError):
    """A template that cannot be used."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    body: str

    @property
    def placeholders(self) -> set[str]:
        return {m.group(1) for m in PLACEHOLDER.finditer(self.subject + "\n" + self.body)}

    def render(self, values: dict[str, Any]) -> Rendered:
        missing = {p for p in self.placeholders if p not in values}
        if missing:
            raise TemplateError(f"{self.name}: no value for {', '.join(sorted(missing))}")
        subject = _fill(self.subject, values, str)
        paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", self.body.strip())]
        text_parts, html_parts = [], []
        for paragraph in paragraphs:
            lone = PLACEHOLDER.fullmatch(paragraph.removeprefix("* "))
            if lone and isinstance(values[lone.group(1)], list | tuple):
                items = [str(item) for item in values[lone.group(1)]]
                text_parts.append("\n".join(f"* {item}" for item in items))
                html_parts.append(_bullets([_linked(html.escape(item)) for item in items]))
                continue
            text = _fill(paragraph, values, str).strip()
            if not text:  # a paragraph of optional words left empty
                continue
            text_parts.append(text)
            html_parts.append(_html_block(_fill(paragraph, values, _escaped).strip()))
        return Rendered(subject, "\n\n".join(text_parts) + "\n", _page(subject, html_parts))


def load(name: str, folder: Path = FOLDER) -> Template:
    path = folder / f"{name}.txt"
    if not path.is_file():
        raise TemplateError(f"{name}: no template at {path}")
    first, _, body = path.read_text(encoding="utf-8").partition("\n")
    if not first.startswith("Subject: ") or not first.removeprefix("Subject: ").strip():
        raise TemplateError(f"{name}: the first line must be 'Subject: ...'")
    return Template(name, first.removeprefix("Subject: ").strip(), body)


def check(kind: Kind, folder: Path = FOLDER) -> Template:
    """The kind's template, refused if it uses a placeholder the kind does not give, or
    does not render with sample values."""
    template = load(kind.name, folder)
    unknown = template.placeholders - set(kind.placeholders)
    if unknown:
        raise TemplateError(
            f"{kind.name}: unknown placeholders {', '.join(sorted(unknown))}; "
            f"it may use {', '.join(kind.placeholders)}"
        )
    template.render(sample_values(kind))
    return template


def check_all(folder: Path = FOLDER) -> dict[str, Template]:
    """Every kind's template, checked: called when each process starts."""
    return {name: check(kind, folder) for name, kind in KINDS.items()}


def sample_values(kind: Kind) -> dict[str, Any]:
    """Values to preview a template with: synthetic, like every example here."""
    samples: dict[str, Any] = {
        "reference": "0190f3a2-7c1e-7d4a-9b2e-1f2a3b4c5d6e",
        "status_link": "https://intake.example.org/v1/referrals/0190f3a2-7c1e-7d4a",
        "case_link": "https://casework.example.org/cases/0190f3a2-8d2f-7e5b",
        "cases_link": "https://casework.example.org/cases",
        "partner_name": "Example Prison Life Coaches",
        "team": "Glasgow",
        "urgent": "yes",
        "reassigned": "",
        "reason": "The family live outside the areas we cover; we have passed on details "
        "of their local service.",
        "outcome": "The family were supported for three months and introduced to a local "
        "carers centre.",
        "count": 2,
        "waiting": ["0190f3a2-7c1e (7 working days)", "0190f3a3-1a2b (6 working days)"],
        "date": "Monday 23 November 2026",
        "endpoint_url": "https://partner.example.org/webhooks/family-ties",
        "items": ["A new referral is waiting: 0190f3a2-7c1e"],
        "sign_in_link": "https://notifications.example.org/sign-in/AbCdEfGhIjKlMnOp",
        "minutes": 15,
        "preferences_link": "https://notifications.example.org/preferences",
    }
    return {name: samples[name] for name in kind.placeholders}


def _escaped(value: Any) -> str:
    return html.escape(str(value))


def _fill(source: str, values: dict[str, Any], show) -> str:
    def one(match: re.Match) -> str:
        value = values[match.group(1)]
        if match.group(2) is not None:  # ((name??words)): the words, if name is set
            return show(match.group(2)) if value else ""
        return show(value)

    return PLACEHOLDER.sub(one, source)


def _linked(escaped: str) -> str:
    return URL.sub(
        lambda m: f'<a href="{m.group(0)}" style="color:#1d70b8">{m.group(0)}</a>', escaped
    )


def _bullets(items: list[str]) -> str:
    lis = "".join(f'<li style="margin:5px 0">{item}</li>' for item in items)
    return f'<ul style="{_TEXT};padding-left:20px">{lis}</ul>'


def _html_block(paragraph: str) -> str:
    """One paragraph, its placeholders already filled and escaped, as HTML."""
    lines = paragraph.split("\n")
    if all(line.startswith("* ") for line in lines):
        return _bullets([_linked(line[2:]) for line in lines])
    if paragraph.startswith("# "):
        return f'<h2 style="{_TEXT};font-size:27px;font-weight:700">{_linked(paragraph[2:])}</h2>'
    body = "<br>".join(_linked(line) for line in lines)
    if paragraph.startswith("^ "):
        inset = "border-left:10px solid #b1b4b6;padding:15px 0 15px 15px;margin:20px 0"
        return f'<blockquote style="{_TEXT};{inset}">{body[2:]}</blockquote>'
    return f'<p style="{_TEXT}">{body}</p>'


_TEXT = "font-family:Helvetica,Arial,sans-serif;font-size:19px;line-height:1.316;color:#0b0c0c"


def _page(subject: str, blocks: list[str]) -> str:
    """The HTML part: one column, large text, GOV.UK Notify's colours, no images."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(subject)}</title></head>"
        '<body style="margin:0;padding:0;background:#ffffff">'
        '<div role="banner" style="background:#0b0c0c;padding:10px 15px">'
        '<span style="font-family:Helvetica,Arial,sans-serif;font-size:24px;'
        'font-weight:700;color:#ffffff">Family Ties</span></div>'
        '<div style="max-width:580px;padding:15px" role="main">'
        + "".join(blocks)
        + "</div></body></html>"
    )
