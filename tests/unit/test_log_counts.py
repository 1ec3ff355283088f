"""Where a service's count of its published events may reach: below the oldest event still
waiting in the outbox, and below anything made within the margin before now."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from backbone.ids import event_id_floor, new_event_id
from backbone.log_counts import NONE_YET, LogCount, count_bound

MOMENT = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
MARGIN = 30.0


def made_at(moment: datetime, random_bits: str = "8000-000000000001") -> str:
    """An event id of `moment`'s millisecond (not its least)."""
    return event_id_floor(moment)[:-17] + random_bits


def test_with_nothing_waiting_the_bound_is_the_margin_before_now():
    assert count_bound(MOMENT, MARGIN, None) == event_id_floor(MOMENT - timedelta(seconds=30))


def test_an_event_made_within_the_margin_is_left_out_one_made_before_it_is_counted():
    bound = count_bound(MOMENT, MARGIN, None)
    assert made_at(MOMENT - timedelta(seconds=29, milliseconds=999)) > bound
    assert made_at(MOMENT - timedelta(seconds=30)) > bound  # its millisecond: still left out
    assert made_at(MOMENT - timedelta(seconds=30, milliseconds=1)) < bound


def test_the_oldest_waiting_event_bounds_the_count_and_is_itself_left_out():
    waiting = made_at(MOMENT - timedelta(minutes=5))
    bound = count_bound(MOMENT, MARGIN, waiting)
    assert bound == waiting  # ids strictly lower are counted: not the waiting one
    assert made_at(MOMENT - timedelta(minutes=5, milliseconds=1)) < bound
    assert made_at(MOMENT - timedelta(minutes=1)) > bound  # published, but after it


def test_an_event_waiting_within_the_margin_changes_nothing():
    waiting = made_at(MOMENT - timedelta(seconds=1))
    assert count_bound(MOMENT, MARGIN, waiting) == count_bound(MOMENT, MARGIN, None)


def test_no_count_yet_sorts_below_every_event_id():
    assert new_event_id() > NONE_YET
    assert event_id_floor(datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)) > NONE_YET


def test_a_count_is_json_that_reads_back():
    count = LogCount("referral", new_event_id(), 1234, MOMENT)
    assert LogCount.decode(count.encode()) == count
    assert set(json.loads(count.encode())) == {"service", "through", "events", "at"}


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"[]",
        b'{"service": "referral"}',
        b'{"service": "x", "through": "", "events": -1, "at": "2026-11-23T12:00:00+00:00"}',
    ],
)
def test_anything_but_a_count_is_refused(value):
    with pytest.raises((ValueError, KeyError, TypeError)):
        LogCount.decode(value)
