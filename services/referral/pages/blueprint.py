"""The blueprint of partners' web pages, and what it answers instead of a page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

from backbone import mongo
from backbone.errors import Forbidden, NotFound

pages = Blueprint("pages", __name__, template_folder="../templates")


def error_page(status: int, title: str, detail: str) -> ResponseReturnValue:
    return render_template("error.html", errors={}, title=title, detail=detail), status


@pages.errorhandler(403)
@pages.errorhandler(Forbidden)
def forbidden(_error: Exception) -> ResponseReturnValue:
    return error_page(403, "You cannot do this", "Your organisation's administrator can.")


@pages.errorhandler(404)
@pages.errorhandler(NotFound)
def not_found(_error: HTTPException | NotFound) -> ResponseReturnValue:
    # Another organisation's referral or draft is "not found", as an unknown one is.
    return error_page(404, "Page not found", "If you followed a link, check it is complete.")


@pages.errorhandler(PyMongoError)
def database_unavailable(error: PyMongoError) -> ResponseReturnValue:
    if not mongo.is_unavailable(error):
        raise error
    page, status = error_page(
        503,
        "Sorry, there is a problem",
        "Referrals cannot be reached just now. Your answers are kept: try again in a few minutes.",
    )
    return page, status, {"Retry-After": "5"}
