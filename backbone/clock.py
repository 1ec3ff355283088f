"""Time: instants are UTC; calendar dates are those of the service's users (UK)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def now() -> datetime:
    """The current instant, UTC, to the millisecond (what MongoDB stores)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def today() -> date:
    """Today's date in the UK, which is what "referred on" and "in the future" mean."""
    return datetime.now(UK).date()
