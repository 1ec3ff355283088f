"""Partners' web pages on intake, for referrers without a system of their own: signing
in (with a second factor), the organisation's users, the referral form and following
referrals. GOV.UK Frontend, server-rendered, usable without JavaScript; every form
carries a CSRF token, and every page goes through the same operations as the API.

Each area's routes are in a module of its own, on the one blueprint."""

from services.referral.pages import account as account
from services.referral.pages import following
from services.referral.pages.blueprint import pages

__all__ = ["following", "pages"]
