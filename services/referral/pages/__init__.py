"""Partners' web pages on intake, for referrers without a system of their own: signing
in (with a second factor), the organisation's users, the referral form and following
referrals. GOV.UK Frontend, server-rendered, usable without JavaScript; every form
carries a CSRF token, and every page goes through the same operations as the API.

Each area's routes are in a module of its own, on the one blueprint."""

from services.referral.pages import account, following, referral_form
from services.referral.pages.blueprint import pages

__all__ = ["account", "following", "pages", "referral_form"]
