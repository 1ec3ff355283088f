"""Time: instants are UTC; calendar dates are those of the service's users (UK)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
# A family referred should hear from a coordinator within this many working days.
FIRST_CONTACT_WORKING_DAYS = 5


def now() -> datetime:
    """The current instant, UTC, to the millisecond (what MongoDB stores)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def today() -> date:
    """Today's date in the UK, which is what "referred on" and "in the future" mean."""
    return datetime.now(UK).date()


def instant(moment: datetime | str) -> datetime:
    """A stored instant, aware of being UTC: MongoDB answers it without saying so, and
    events carry it as ISO 8601 text."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def uk_time(moment: datetime | str) -> str:
    """An instant as people here read it on a page: '2 November 2026, 9:05am', UK time."""
    local = instant(moment).astimezone(UK)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y}, {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def start_of_month(at: datetime) -> datetime:
    """The instant (UTC) the UK calendar month of `at` began."""
    local = at.astimezone(UK)
    return datetime(local.year, local.month, 1, tzinfo=UK).astimezone(UTC)


def working_days_between(start: date, end: date) -> int:
    """Monday to Friday days after `start` up to and including `end` (0 if `end` is not
    after `start`). Bank holidays count as working days: they differ across the UK."""
    if end <= start:
        return 0
    weeks, extra = divmod((end - start).days, 7)
    days = weeks * 5
    for step in range(1, extra + 1):
        if (start + timedelta(days=step)).weekday() < 5:
            days += 1
    return days
