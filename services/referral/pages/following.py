"""Following referrals: the organisation's referrals, newest first, each with its
timeline, and withdrawing one."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from services.referral.operations import Intake
from services.referral.pages.blueprint import pages


def _intake() -> Intake:
    return current_app.extensions["intake"]


@pages.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("pages.referrals"))


@pages.get("/referrals")
def referrals() -> ResponseReturnValue:
    found = _intake().page(g.caller["partner"], {}, 1, 20)
    return render_template("referrals.html", found=found, errors={})
