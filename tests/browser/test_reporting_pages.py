"""Reporting's pages in Debian's Chromium (Playwright), under the pages' own
Content-Security-Policy: a manager's dashboard with its figures, tables and charts; each
report's filter form and downloads; a funder kept from caseloads; the pages without
JavaScript. Every page is checked with axe-core; the dashboard is kept as a screenshot.

The view is loaded with synthetic referrals and case histories (tests/unit's events)
through the bulk path a rebuild uses; the figures expected are counted here from the
same few lines that describe each history."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from backbone import mongo
from backbone.clock import FIRST_CONTACT_WORKING_DAYS, today, working_days_between
from backbone.events.envelope import Event
from backbone.events.vocabulary import NEEDS, REFERRING_TEAMS
from services.reporting.app import create_app
from services.reporting.figures import last_complete_months, month_label, months_between
from services.reporting.pages import REPORT_TABLES
from services.reporting.repository import BulkApplier, ReportingView
from services.reporting.viewers import Viewers
from tests.browser.chromium import (
    ARTEFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    accessibility_problems,
    served,
)
from tests.unit.reporting_events import case_event, contact, event, referral_received

PASSWORD = "correct horse battery"
TEAMS = list(REFERRING_TEAMS)
NEEDS_IN_TURN = [
    ("housing", "bereavement"),
    ("financial_difficulties",),
    ("children_and_parenting", "housing"),
    ("health", "education"),
]
SERVICE_ID = "svc-council-housing"
BLUE, ORANGE, BLACK = (0x1D, 0x70, 0xB8), (0xF4, 0x77, 0x38), (0x0B, 0x0C, 0x0C)


@dataclass(frozen=True)
class Referral:
    """One synthetic referral and what happened to its case."""

    referral_id: str
    team: str
    referred_on: date
    children: int
    needs: tuple[str, ...]
    coordinator: str | None  # allocated to, or waiting to be allocated
    contacted: bool  # on the first need, three days after the referral
    signposted: bool  # to the statutory service, for the last need; the family engaged
    closed: bool

    @property
    def month(self) -> str:
        return f"{self.referred_on:%Y-%m}"

    def answered(self, need: str) -> bool:
        return (self.contacted and need == self.needs[0]) or (
            self.signposted and need == self.needs[-1]
        )


def referrals(on: date) -> list[Referral]:
    """Three referrals in each of the last 12 complete months and in this month, the
    teams taking turns, so each month has a different mix."""
    months = [*months_between(*last_complete_months(on)), f"{on:%Y-%m}"]
    made = []
    for n in range(3 * len(months)):
        month = months[n % len(months)]
        day = 1 + n * 5 % 27
        if month == months[-1]:
            day = min(day, on.day)  # never in the future
        allocated, contacted = n % 4 != 3, n % 4 in (0, 1)
        made.append(
            Referral(
                referral_id=f"r{n}",
                team=TEAMS[n % len(TEAMS)],
                referred_on=date.fromisoformat(f"{month}-{day:02d}"),
                children=n % 3,
                needs=NEEDS_IN_TURN[n % len(NEEDS_IN_TURN)],
                coordinator=f"coordinator-{n % 3}" if allocated else None,
                contacted=contacted,
                signposted=contacted and n % 3 == 0,
                closed=contacted and n % 5 == 0,
            )
        )
    return made


def histories(made: list[Referral], on: date) -> list[Event]:
    """The events of the referrals' histories, each case's in order, and the directory's
    news of the statutory service they were signposted to."""
    service = {
        "id": SERVICE_ID,
        "name": "Council housing advice",
        "organization": {"name": "A council", "x_agency_type": "statutory"},
    }
    events = [event("ServicePublished", {"service": service, "change": {}})]
    for r in made:
        rid, at = r.referral_id, r.referred_on
        later = min(at + timedelta(days=3), on)
        events.append(
            referral_received(rid, team=r.team, referred_on=at, children=r.children, needs=r.needs)
        )
        events.append(
            case_event(
                "CaseOpened",
                rid,
                at,
                partner_id="p",
                referring_team=r.team,
                local_authority="GLASGOW_CITY",
                needs=list(r.needs),
            )
        )
        if r.coordinator:
            events.append(
                case_event("CaseAllocated", rid, at, coordinator_id=r.coordinator, reassigned=False)
            )
        if r.contacted:
            events.append(contact(rid, later, r.needs[:1]))
        if r.signposted:
            signpost = {"signpost_id": f"s-{rid}"}
            events.append(
                case_event(
                    "SignpostMade",
                    rid,
                    later,
                    **signpost,
                    service_id=SERVICE_ID,
                    method="telephone",
                    personal_details_shared=False,
                    needs=list(r.needs[-1:]),
                )
            )
            events.append(
                case_event("SignpostOutcomeRecorded", rid, later, **signpost, outcome="engaged")
            )
        if r.closed:
            events.append(
                case_event(
                    "CaseClosed",
                    rid,
                    later,
                    outcomes=["needs_met"],
                    outcome_for_referrer="Synthetic words.",
                )
            )
    return events


@pytest.fixture
def site(settings):
    """Reporting's pages over real HTTP, the view loaded, a manager and a funder."""
    app = create_app(settings)
    assert "reports" in app.extensions
    db = mongo.database(settings, "reporting")
    viewers = Viewers(db)
    viewers.create_account("morgan", "Morgan Manager", "manager", PASSWORD)
    viewers.create_account("frances", "Frances Funder", "funder", PASSWORD)
    on = today()
    made = referrals(on)
    applier = BulkApplier(ReportingView(db).current())
    applier.add(histories(made, on))
    applier.flush()
    with served(app) as url:
        yield {"url": url, "referrals": made, "today": on}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser):
    # The pages' own Content-Security-Policy holds (no bypass_csp), so a chart whose
    # styles it blocked would show here as it would to a user.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5000)  # the pages are local: a missing element fails fast
    yield context.new_page()
    context.close()


# ---- what the user reads -----------------------------------------------------------------


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation() as landed:
        page.click("button:has-text('Sign in')")
    assert landed.value is not None and landed.value.status == 200, "the dashboard failed"


def figures_under(page: Page, heading: str) -> dict[str, str]:
    """The dashboard's figures listed under a heading, by their labels."""
    figures = page.locator(f"h2:has-text('{heading}') + .ft-figures li").all()
    return {
        li.locator("p").first.inner_text().strip(): li.locator("p").last.inner_text().strip()
        for li in figures
    }


def table_of(page: Page, caption: str) -> Locator:
    return page.locator("table").filter(has=page.locator("caption", has_text=caption))


def header_of(page: Page, caption: str) -> list[str]:
    return [
        (text or "").strip()
        for text in table_of(page, caption).locator("thead th").all_text_contents()
    ]


def rows_of(page: Page, caption: str) -> dict[str, list[str]]:
    """A table's rows by their first cell: the rest of the cells, as shown."""
    rows = {}
    for row in table_of(page, caption).locator("tbody tr").all():
        label, *cells = [(text or "").strip() for text in row.locator("th, td").all_text_contents()]
        rows[label] = cells
    return rows


def chart_problems(img: Locator, colours: tuple = (BLUE, ORANGE)) -> list[str]:
    """What is wrong with a chart as drawn: not loaded, or not in its colours (a policy
    that blocks an SVG's styles leaves its bars black, or nothing at all)."""
    problems = []
    if not img.evaluate("image => image.complete && image.naturalWidth > 0"):
        problems.append("the image did not load")
    return problems + colour_problems(img, colours)


def colour_problems(img: Locator, colours: tuple = (BLUE, ORANGE)) -> list[str]:
    """What is wrong with the chart's pixels, from a screenshot: it should be on white,
    not black, with bars in `colours` (GOV.UK blue for the first series, orange next)."""
    picture = Image.open(io.BytesIO(img.screenshot())).convert("RGB")
    pixels = picture.getcolors(maxcolors=picture.width * picture.height) or []
    total = picture.width * picture.height

    def share(colour: tuple[int, int, int]) -> float:
        near = sum(
            n for n, p in pixels if max(abs(a - b) for a, b in zip(p, colour, strict=True)) < 8
        )
        return near / total

    problems = []
    if len(pixels) < 10:
        problems.append(f"only {len(pixels)} colours")
    if share((255, 255, 255)) < 0.4:
        problems.append("not on white")
    if share(BLACK) > 0.2:
        problems.append("mostly black")
    problems += [f"no bars in {colour}" for colour in colours if share(colour) < 0.002]
    return problems


# ---- the figures expected, counted from the histories ------------------------------------


def last_12_months(on: date) -> list[str]:
    return months_between(*last_complete_months(on))


def headline_figures(made: list[Referral], on: date) -> dict[str, str]:
    waiting = [r for r in made if not r.contacted and not r.closed]
    return {
        "Referrals": str(len(made)),
        "With children": str(sum(r.children > 0 for r in made)),
        "Open now": str(sum(not r.closed for r in made)),
        "Waiting over 5 working days": str(
            sum(
                working_days_between(r.referred_on, on) > FIRST_CONTACT_WORKING_DAYS
                for r in waiting
            )
        ),
        "Signposts made": str(sum(r.signposted for r in made)),
    }


def needs_rows(made: list[Referral]) -> dict[str, list[str]]:
    """The needs table: the needs any referral identified, how many did, and of those
    how many had it answered."""
    return {
        label: [
            str(sum(need in r.needs for r in made)),
            str(sum(need in r.needs and r.answered(need) for r in made)),
        ]
        for need, label in NEEDS.items()
        if any(need in r.needs for r in made)
    }


# What each report page's figure for the test is: (table caption, row, column), and how
# many of the referrals it counts.
FIGURE = {
    "referrals-by-month": ("Referrals by month and referring team", "Total", -1),
    "needs": ("Needs identified and answered", "Housing", 0),
    "headline": ("Headline figures", "Referrals", 0),
}


def expected_figure(key: str, made: list[Referral]) -> str:
    if key == "needs":
        return str(sum("housing" in r.needs for r in made))
    return str(len(made))


def shown_figure(page: Page, key: str) -> str:
    caption, row, column = FIGURE[key]
    return rows_of(page, caption)[row][column]


# ---- the tests ---------------------------------------------------------------------------


def test_a_manager_sees_this_month_and_the_last_12_months_on_the_dashboard(site, page):
    """The headline figures, the month-by-team table, the needs chart and table, the
    caseloads: what a manager opens reporting for, each figure counted from the
    histories."""
    made, on = site["referrals"], site["today"]
    months = last_12_months(on)
    year = [r for r in made if r.month in months]
    this_month = [r for r in made if r.month == f"{on:%Y-%m}"]
    checked = {}

    page.goto(f"{site['url']}/")
    assert page.url.endswith("/sign-in")  # signed out, sent to sign in
    checked["sign in"] = accessibility_problems(page)
    sign_in(page, site["url"], "morgan")
    assert page.locator("h1").inner_text() == "Dashboard"

    shown = figures_under(page, "This month")
    assert {name: shown.get(name) for name in headline_figures(this_month, on)} == (
        headline_figures(this_month, on)
    )
    assert this_month and shown["Referrals"] == "3"
    shown = figures_under(page, "The last 12 months")
    assert {name: shown.get(name) for name in headline_figures(year, on)} == (
        headline_figures(year, on)
    )
    assert shown["Median working days to first contact"].isdigit()
    headings = page.locator("main h2").all_inner_texts()
    assert f"This month: {on:%B %Y}" in headings
    first, last = (date.fromisoformat(f"{m}-01") for m in (months[0], months[-1]))
    assert f"The last 12 months: {first:%B %Y} to {last:%B %Y}" in headings

    by_month = "Referrals by month and referring team"
    assert header_of(page, by_month) == [
        "Referring team",
        *[month_label(m) for m in months],
        "Total",
    ]
    rows = rows_of(page, by_month)
    for team, label in REFERRING_TEAMS.items():
        counts = [sum(r.team == team and r.month == m for r in made) for m in months]
        assert rows[label] == [str(n) for n in [*counts, sum(counts)]], label
    assert rows["Total"][-1] == str(len(year)) == "36"
    assert rows_of(page, "Needs identified and answered") == needs_rows(year)
    charts = page.locator("main img").all()
    assert [c.get_attribute("alt") for c in charts] == [
        f"Bar chart: {by_month}. The table below gives its figures.",
        "Bar chart: Needs identified and answered. The table below gives its figures.",
    ]
    assert {c.get_attribute("alt"): chart_problems(c) for c in charts} == {
        c.get_attribute("alt"): [] for c in charts
    }

    allocated = [r for r in made if r.coordinator and not r.closed]
    caseloads = {
        coordinator: [
            str(sum(r.coordinator == coordinator for r in allocated)),
            str(sum(r.coordinator == coordinator and not r.contacted for r in allocated)),
        ]
        for coordinator in sorted({r.coordinator for r in allocated})
    }
    assert rows_of(page, "Cases allocated now") == caseloads
    checked["dashboard"] = accessibility_problems(page)
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "reporting-dashboard.png"), full_page=True)

    # 14 columns do not fit: the table scrolls sideways, and a keyboard can scroll it
    wide = page.get_by_role("region", name=by_month)
    assert wide.evaluate("box => box.scrollWidth > box.clientWidth")
    wide.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    assert wide.evaluate("box => box.scrollLeft") > 0

    page.click("nav[aria-label='Reports'] >> text=Caseloads")
    assert page.locator("h1").inner_text() == "Caseloads"
    assert rows_of(page, "Cases allocated now") == caseloads
    checked["caseloads"] = accessibility_problems(page)
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert len(checked) == 3


def test_each_report_shows_the_range_and_team_chosen_in_its_form(site, page):
    """Each report page: the last 12 months at first; the range and team chosen in its
    form, and the downloads for them; a wrong month refused, with the error summary."""
    made, on = site["referrals"], site["today"]
    months = last_12_months(on)
    year = [r for r in made if r.month in months]
    first, last = months[0], months[5]
    chosen = [r for r in made if first <= r.month <= last and r.team == "GLASGOW"]
    checked = {}
    sign_in(page, site["url"], "morgan")

    for key, title in [
        ("referrals-by-month", "Referrals by month and referring team"),
        ("needs", "Needs identified and answered"),
        ("headline", "Headline figures"),
    ]:
        page.click(f"nav[aria-label='Reports'] >> text={title}")
        assert page.locator("h1").inner_text() == title
        assert shown_figure(page, key) == expected_figure(key, year)  # the last 12 months

        page.fill("#from", first)
        page.fill("#to", last)
        page.select_option("#team", label="Glasgow")
        with page.expect_navigation() as shown:
            page.click("button:has-text('Show')")
        assert shown.value.status == 200
        assert shown_figure(page, key) == expected_figure(key, chosen)
        assert expected_figure(key, chosen) != expected_figure(key, year)  # it changed
        start, end = (date.fromisoformat(f"{m}-01") for m in (first, last))
        assert page.locator("main .govuk-body-l").inner_text() == (
            f"{start:%B %Y} to {end:%B %Y} (Glasgow team)"
        )
        assert page.input_value("#from") == first and page.input_value("#team") == "GLASGOW"
        charts = page.locator("main img").all()
        assert len(charts) == {"headline": 0}.get(key, 1)  # the headline tables have none
        for chart in charts:  # Glasgow's bars are blue, the first colour
            assert chart_problems(chart, (BLUE,)) == [], key
        checked[key] = accessibility_problems(page)

        # the downloads: each table as CSV, the whole report as XLSX and PDF, all of them
        # for the range and team chosen
        downloads = page.locator("h2:has-text('Download') + ul a").all()
        kinds = {"csv": "text/csv", "xlsx": "spreadsheetml", "pdf": "application/pdf"}
        got = {}
        for link in downloads:
            href = link.get_attribute("href") or ""
            assert f"from={first}" in href and "team=GLASGOW" in href, href
            answer = page.request.get(f"{site['url']}{href}")
            assert answer.status == 200, href
            name = answer.headers["content-disposition"].split('filename="')[1].rstrip('"')
            assert name.startswith(f"familyties-{first}-to-{last}"), name
            assert kinds[name.rsplit(".", 1)[1]] in answer.headers["content-type"], name
            got[name] = answer
        assert sorted(name.rsplit(".", 1)[1] for name in got) == sorted(
            ["csv"] * len(REPORT_TABLES[key]) + ["pdf", "xlsx"]
        )
        table_csv = got[f"familyties-{first}-to-{last}-{key}.csv"].body().decode("utf-8-sig")
        _, row, column = FIGURE[key]
        csv_rows = {cells[0]: cells[1:] for cells in csv.reader(io.StringIO(table_csv))}
        assert csv_rows[row][column] == expected_figure(key, chosen)  # as the page says

        page.fill("#from", "2009-13")
        with page.expect_navigation() as refused:
            page.click("button:has-text('Show')")
        assert refused.value.status == 400
        assert page.title().startswith("Error: ")
        # without script, as GOV.UK Frontend's would: the summary takes the focus, to be
        # read first (the browser applies autofocus a moment after the page loads)
        page.wait_for_function("document.activeElement.classList.contains('govuk-error-summary')")
        summary = page.locator(".govuk-error-summary")
        assert summary.locator("a").all_inner_texts() == ["From month: give a month like 2009-09."]
        page.click(".govuk-error-summary a[href='#from']")
        assert page.evaluate("document.activeElement.id") == "from"
        assert "give a month like 2009-09" in page.locator("#from-error").inner_text()
        assert page.input_value("#from") == "2009-13"  # kept, to be corrected
        assert page.locator("main table").count() == 0  # no figures for a wrong range
        checked[f"{key}, with an error"] = accessibility_problems(page)
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert len(checked) == 6


def test_a_funder_reads_the_reports_but_not_caseloads(site, page):
    """Caseloads name coordinators' workloads: for managers, not funders."""
    sign_in(page, site["url"], "frances")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert figures_under(page, "The last 12 months")["Referrals"] == "36"
    links = page.locator("nav[aria-label='Reports'] a").all_inner_texts()
    assert "Dashboard" in links and "Headline figures" in links
    assert "Caseloads" not in links
    assert page.locator("table").filter(has_text="Cases allocated now").count() == 0
    refused = page.goto(f"{site['url']}/caseloads")
    assert refused is not None and refused.status == 403
    assert page.locator("h1").inner_text() == "You cannot see this"
    assert page.locator("main table").count() == 0
    assert accessibility_problems(page) == []

    # a link to a report, passed on with a tag of its own, still opens the report
    months = last_12_months(site["today"])
    shown = page.goto(
        f"{site['url']}/reports/headline?from={months[0]}&to={months[-1]}&utm_source=email"
    )
    assert shown is not None and shown.status == 200
    assert shown_figure(page, "headline") == "36"


def test_the_pages_work_without_javascript(site, browser):
    """Scripts off in the browser (the pages have none, and their policy allows none):
    signing in, the charts, the filter form and its errors all still work."""
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(5000)
    page = context.new_page()
    made, on = site["referrals"], site["today"]
    months = last_12_months(on)
    sign_in(page, site["url"], "morgan")
    assert page.locator("h1").inner_text() == "Dashboard"
    charts = page.locator("main img").all()
    assert len(charts) == 2
    for chart in charts:
        assert colour_problems(chart) == []
    page.click("nav[aria-label='Reports'] >> text=Needs identified and answered")
    page.fill("#from", months[0])
    page.fill("#to", months[-1])
    page.select_option("#team", label="Lanarkshire")
    page.click("button:has-text('Show')")
    lanarkshire = [r for r in made if r.month in months and r.team == "LANARKSHIRE"]
    assert rows_of(page, "Needs identified and answered") == needs_rows(lanarkshire)
    assert needs_rows(lanarkshire) != needs_rows([r for r in made if r.month in months])
    page.fill("#to", "2009-13")
    page.click("button:has-text('Show')")
    assert page.locator(".govuk-error-summary a").all_inner_texts() == [
        "To month: give a month like 2009-09."
    ]
    context.close()
