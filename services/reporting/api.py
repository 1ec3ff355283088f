"""Reporting's JSON API: each report for a range of whole months, for managers' and
funders' own tools. A viewer's API key (`Authorization: Bearer`) identifies them."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from services.reporting import schemas
from services.reporting.operations import Period, Reports

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/v1/reports",
    description="Aggregate figures (counts only) for managers and funders.",
)
SECURITY = [{"viewerKey": []}]
QUERY = schemas.ReportQuerySchema()


def _reports() -> Reports:
    return current_app.extensions["reports"]


@blp.get("/referrals-by-month")
@blp.arguments(QUERY, location="query", unknown=RAISE)
@blp.response(200, schemas.ReferralsByMonthSchema())
@blp.doc(security=SECURITY)
def referrals_by_month(query: dict[str, Any]):
    """Referrals per month (of the referral date) per referring team, with team totals,
    month totals and the grand total; zeros included."""
    return _reports().referrals_by_month(Period.of(query))


@blp.get("/withdrawals-by-month")
@blp.arguments(QUERY, location="query", unknown=RAISE)
@blp.response(200, schemas.ReferralsByMonthSchema())
@blp.doc(security=SECURITY)
def withdrawals_by_month(query: dict[str, Any]):
    """Of the referrals of each month (of the referral date) and referring team, those
    withdrawn by the referrer; with totals, zeros included."""
    return _reports().withdrawals_by_month(Period.of(query))


@blp.get("/needs")
@blp.arguments(QUERY, location="query", unknown=RAISE)
@blp.response(200, schemas.NeedsReportSchema())
@blp.doc(security=SECURITY)
def needs(query: dict[str, Any]):
    """Per need, the referrals that identified it and those where it was answered."""
    return _reports().needs(Period.of(query))


@blp.get("/headline")
@blp.arguments(QUERY, location="query", unknown=RAISE)
@blp.response(200, schemas.HeadlineSchema())
@blp.doc(security=SECURITY)
def headline(query: dict[str, Any]):
    """The headline figures for the referrals of the range: with children, given
    one-to-one support, open and waiting now, days to first contact, support periods,
    signposts by agency type and outcome, closing outcomes, declined, withdrawn and why."""
    return _reports().headline(Period.of(query))


@blp.get("/caseloads")
@blp.response(200, schemas.CaseloadsSchema())
@blp.doc(security=SECURITY)
def caseloads():
    """Cases allocated to each coordinator now (managers)."""
    return _reports().caseloads(g.caller)
