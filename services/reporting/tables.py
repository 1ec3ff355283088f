"""A report as its exports see it: titled tables of labelled rows, each with an optional
chart. The report pages, CSV, XLSX and PDF are all made from these, so they show the
same figures."""

from __future__ import annotations

from dataclasses import dataclass, field

# A cell: a label, a count, or the words that stand for a small count in publications.
Cell = str | int


@dataclass(frozen=True)
class Chart:
    """A bar chart of a table: one bar (or group of bars) per label."""

    title: str
    labels: list[str]
    series: dict[str, list[int]]  # series name -> one value per label
    horizontal: bool = False


@dataclass(frozen=True)
class Table:
    key: str  # names its sheet and its CSV file: "referrals-by-month"
    title: str
    header: list[str]
    rows: list[list[Cell]]  # the first cell of each row labels it
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    title: str
    period: str  # as people say it: "October 2008 to September 2009"
    file_stem: str  # names the downloads: "familyties-2008-10-to-2009-09"
    tables: list[Table]
