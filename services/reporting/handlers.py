"""What reporting does with the other services' events: each changes the view (see
facts.py for what is kept of it, and repository.py for how)."""

from __future__ import annotations

from backbone.consumer import Handler
from services.reporting import facts
from services.reporting.repository import ReportingView


def handlers(view: ReportingView) -> dict[str, Handler]:
    return dict.fromkeys((*facts.REFERRAL_EVENTS, *facts.DIRECTORY_EVENTS), view.apply)
