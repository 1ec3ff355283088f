"""The pages a signed-in account uses for its own second factor, beside backbone.sign_in's
(which signs in with it and sets it up): new recovery codes, and the check of the app's
current code that guards such a change (`checked_app_code`: a session taken over cannot
make codes, or turn the app off, without the phone). Every service whose accounts have a
second factor offers new recovery codes with `add_new_recovery_codes`."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, Response, g, redirect, request, url_for

from backbone.accounts import Accounts, LockedOut
from backbone.second_factor import SecondFactors, checked_code, is_app_code, normalised
from backbone.sign_in import LOCKED_OUT_CODES, add_page, no_store_page

ENTER_APP_CODE = "Enter the 6-digit code your authenticator app shows now"
WRONG_APP_CODE = "The code is not right, or was used already: enter the new code from your app"
# Asks for the app's code before a change, with the change's words (see the template).
CODE_PAGE = "familyties/confirm_with_code.html"


def checked_app_code(
    accounts: Accounts, factors: SecondFactors, form_again: Callable[[int, dict], Response]
) -> Response | None:
    """None if the posted form holds the signed-in account's current app code (used up by
    this, and counted with its sign-in attempts; a recovery code will not do); else
    `form_again(status, errors)`, the form saying what is wrong."""
    typed = request.form.get("code", "")
    if not is_app_code(typed):
        message = ENTER_APP_CODE if not normalised(typed) else WRONG_APP_CODE
        return form_again(400, {"code": message})
    try:
        right = checked_code(accounts, factors, g.caller, typed, recovery=False)
    except LockedOut:
        return form_again(429, {"code": LOCKED_OUT_CODES})
    return None if right else form_again(401, {"code": WRONG_APP_CODE})


def add_new_recovery_codes(
    app: Flask, pages: Blueprint, accounts: Accounts, factors: SecondFactors, *, back: str
) -> None:
    """/account/recovery-codes under `pages` (endpoint `new_recovery_codes`): a signed-in
    account with an app gives its current code and is shown ten new recovery codes, once;
    the old ones stop working. `back` is the endpoint it returns to (or cancels to)."""

    def form(status: int = 200, errors: dict | None = None) -> Response:
        codes_left = factors.recovery_codes_left(g.caller["_id"])
        return no_store_page(
            CODE_PAGE, errors or {}, status, action="recovery_codes", back=back, left=codes_left
        )

    def new_recovery_codes() -> Response:
        if not factors.is_set_up(g.caller["_id"]):
            return redirect(url_for(back))
        if request.method != "POST":
            return form()
        refused = checked_app_code(accounts, factors, form)
        if refused is not None:
            return refused
        codes = factors.new_recovery_codes(g.caller["_id"])
        return no_store_page(
            "familyties/recovery_codes.html", {}, 200, codes=codes, next=url_for(back)
        )

    rule, methods = "/account/recovery-codes", ["GET", "POST"]
    add_page(app, pages, rule, "new_recovery_codes", new_recovery_codes, methods)
