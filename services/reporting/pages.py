"""The managers' and funders' pages: the dashboard, each report with its filters, and the
downloads. Server-rendered with GOV.UK Frontend; charts are SVG images made on the server,
each with its table beside it, so nothing needs JavaScript."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from backbone.clock import today
from backbone.errors import Forbidden
from backbone.events import vocabulary
from services.reporting import exports, figures, schemas
from services.reporting.charts import svg
from services.reporting.operations import MANAGER, Period, Reports
from services.reporting.tables import Chart, Report

pages = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/reporting",
)
REPORTS = {
    "referrals-by-month": "Referrals by month and referring team",
    "needs": "Needs identified and answered",
    "headline": "Headline figures",
    "withdrawals": "Referrals withdrawn",
}
# Which of the funders' report's tables each report page shows.
REPORT_TABLES = {
    "referrals-by-month": ["referrals-by-month"],
    "needs": ["needs"],
    "headline": ["headline", "signposts", "closing-outcomes"],
    "withdrawals": ["withdrawals-by-month", "withdrawal-reasons"],
}


def _reports() -> Reports:
    return current_app.extensions["reports"]


@pages.app_context_processor
def _helpers() -> dict:
    return {
        "is_manager": lambda: MANAGER in (g.get("caller") or {}).get("roles", []),
        "REPORTS": REPORTS,
        "TEAMS": vocabulary.REFERRING_TEAMS,
        "LOCAL_AUTHORITIES": vocabulary.LOCAL_AUTHORITIES,
    }


# A global, not a context processor's value: templates.html's macros are imported without
# the page's context, so they see only the environment's globals.
@pages.app_template_global()
def chart_image(chart: Chart) -> str:
    """The chart as an image address (data:), which the pages' policy allows, unlike the
    styles inside an inline SVG."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg(chart).encode()).decode()


@pages.errorhandler(403)
@pages.errorhandler(404)
def page_error(error: HTTPException) -> ResponseReturnValue:
    return _error_page(error.code or 404)


@pages.errorhandler(Forbidden)
def forbidden(refusal: Forbidden) -> ResponseReturnValue:
    return _error_page(403)


def _error_page(status: int) -> ResponseReturnValue:
    title = "You cannot see this" if status == 403 else "Page not found"
    detail = "Caseloads are for managers." if status == 403 else "Check the address."
    return render_template("error.html", errors={}, title=title, detail=detail), status


# The filter form's fields (their names in the address) and their labels on the page.
FILTERS = {
    "from": "From month",
    "to": "To month",
    "team": "Referring team",
    "local_authority": "Local authority",
}


def _period() -> tuple[Period | None, dict[str, str], dict[str, str]]:
    """The period the page's filters ask for (None if they are wrong), the filters as
    given, and what is wrong with them, by field. Each message names its field, as the
    error summary lists them apart from the form. Other parameters in the address (a
    campaign tag, say) are not the form's: they are left out, not refused."""
    chosen = {name: value for name, value in request.args.items() if value and name in FILTERS}
    try:
        query = schemas.ReportQuerySchema().load(chosen)
    except ValidationError as error:
        wrong = {
            field: f"{FILTERS.get(field, 'The filters')}: {_sentence_part(' '.join(messages))}"
            for field, messages in error.messages.items()
        }
        return None, chosen, wrong
    return Period.of(query), chosen, {}


def _sentence_part(message: str) -> str:
    """ "Give a month like 2009-09." as it reads after a field's label and a colon."""
    return message[:1].lower() + message[1:]


# ---- pages -------------------------------------------------------------------------------


@pages.get("/")
def dashboard() -> ResponseReturnValue:
    """This month and the last 12 complete months at a glance."""
    reports = _reports()
    on = today()
    this_month = Period(f"{on:%Y-%m}", f"{on:%Y-%m}")
    year = Period.of({}, on)
    last_12 = reports.report(year)
    caseloads = reports.caseloads(g.caller) if MANAGER in g.caller.get("roles", []) else None
    return render_template(
        "dashboard.html",
        errors={},
        this_month=reports.headline(this_month),
        year=reports.headline(year),
        year_period=figures.period_label(year.first, year.last),
        this_month_label=figures.period_label(this_month.first, this_month.last),
        tables={table.key: table for table in last_12.tables},
        caseloads=caseloads,
    )


@pages.get("/reports/<key>")
def report_page(key: str) -> ResponseReturnValue:
    if key not in REPORTS:
        return _error_page(404)
    period, chosen, wrong = _period()
    if period is None:
        page = render_template(
            "report.html", key=key, title=REPORTS[key], report=None, filters=chosen, errors=wrong
        )
        return page, 400
    report = _reports().report(period)
    tables = [table for table in report.tables if table.key in REPORT_TABLES[key]]
    return render_template(
        "report.html",
        key=key,
        title=REPORTS[key],
        report=report,
        tables=tables,
        filters=chosen,
        errors={},
    )


@pages.get("/caseloads")
def caseloads() -> ResponseReturnValue:
    found = _reports().caseloads(g.caller)
    return render_template("caseloads.html", caseloads=found, errors={})


# ---- downloads ---------------------------------------------------------------------------


@pages.get("/exports/<key>.csv")
def csv_export(key: str) -> ResponseReturnValue:
    report, refused = _for_download()
    if report is None:
        return refused
    table = next((t for t in report.tables if t.key == key), None)
    if table is None:
        return _error_page(404)
    body = exports.csv_of(table).encode(exports.CSV_ENCODING)  # with a BOM, for Excel
    return _download(body, "text/csv; charset=utf-8", exports.file_name(report, table, "csv"))


@pages.get("/exports/report.xlsx")
def xlsx_export() -> ResponseReturnValue:
    report, refused = _for_download()
    if report is None:
        return refused
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(exports.xlsx_of(report), kind, exports.file_name(report, None, "xlsx"))


@pages.get("/exports/report.pdf")
def pdf_export() -> ResponseReturnValue:
    report, refused = _for_download()
    if report is None:
        return refused
    return _download(
        exports.pdf_of(report), "application/pdf", exports.file_name(report, None, "pdf")
    )


def _for_download() -> tuple[Report | None, ResponseReturnValue]:
    """The report the filters ask for, laid out for publication; or the refusal."""
    period, _, wrong = _period()
    if period is None:
        page = render_template(
            "error.html",
            errors={},
            title="This download cannot be made",
            detail=" ".join(wrong.values()),
        )
        return None, (page, 400)
    return _reports().report(period, for_publication=True), ""


def _download(body: str | bytes, kind: str, name: str) -> Response:
    response = Response(body, mimetype=kind)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
