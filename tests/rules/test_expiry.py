"""Expiry: burns_at for one guest and idle_cutoff for the nightly job always agree."""

import copy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rules import burns_at, idle_cutoff, load_program

MOSCOW, BERLIN = ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Berlin")


def a_program(program, *, timezone="Europe/Moscow", idle_months=12, month_end="clamp"):
    data = copy.deepcopy(program.data)
    data["timezone"] = timezone
    data["expiry"] = {"idle_months": idle_months, "month_end": month_end}
    return load_program(data)


def test_a_balance_burns_at_the_midnight_ending_its_anniversary_day(program):
    last_order = datetime(2024, 3, 15, 14, 0, tzinfo=MOSCOW)
    assert burns_at(program, last_order) == datetime(2025, 3, 16, tzinfo=MOSCOW)


def test_the_anniversary_is_counted_in_the_programs_zone(program):
    late_utc = datetime(2024, 3, 15, 22, 30, tzinfo=UTC)  # already 16 March in Moscow
    assert burns_at(program, late_utc) == datetime(2025, 3, 17, tzinfo=MOSCOW)


def test_29_february_clamps_to_28_february_by_default(program):
    leap_day = datetime(2024, 2, 29, 14, 0, tzinfo=MOSCOW)
    assert burns_at(program, leap_day) == datetime(2025, 3, 1, tzinfo=MOSCOW)


def test_29_february_rolls_to_1_march_when_the_program_says_roll(program):
    rolling = a_program(program, month_end="roll")
    leap_day = datetime(2024, 2, 29, 14, 0, tzinfo=MOSCOW)
    assert burns_at(rolling, leap_day) == datetime(2025, 3, 2, tzinfo=MOSCOW)


def test_the_31st_clamps_to_the_last_day_of_a_shorter_month(program):
    monthly = a_program(program, idle_months=1)
    assert burns_at(monthly, datetime(2025, 1, 31, 9, tzinfo=MOSCOW)) == datetime(
        2025, 3, 1, tzinfo=MOSCOW)
    assert burns_at(monthly, datetime(2025, 3, 31, 9, tzinfo=MOSCOW)) == datetime(
        2025, 5, 1, tzinfo=MOSCOW)


def test_the_nightly_job_burns_yesterdays_anniversaries(program):
    night = datetime(2025, 3, 16, 3, 0, tzinfo=MOSCOW)
    assert idle_cutoff(program, night) == datetime(2024, 3, 16, tzinfo=MOSCOW)


def test_on_1_march_the_job_burns_the_leap_day_too(program):
    night = datetime(2025, 3, 1, 3, 0, tzinfo=MOSCOW)
    assert idle_cutoff(program, night) == datetime(2024, 3, 1, tzinfo=MOSCOW)


def test_expiry_needs_aware_moments(program):
    with pytest.raises(ValueError, match="aware"):
        burns_at(program, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        idle_cutoff(program, datetime(2024, 1, 1))


def test_a_berlin_fall_back_hour_counts_by_its_local_day(program):
    berlin = a_program(program, timezone="Europe/Berlin")
    second_pass = datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN)
    assert burns_at(berlin, second_pass) == datetime(2025, 10, 28, tzinfo=BERLIN)


MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31),
                       timezones=st.just(UTC))
NEAR = st.one_of(st.sampled_from([timedelta(0), timedelta(microseconds=1),
                                  -timedelta(microseconds=1)]),
                 st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)))
SETTINGS = st.tuples(st.sampled_from(["Europe/Moscow", "Europe/Berlin"]),
                     st.sampled_from([1, 12, 13, 24]), st.sampled_from(["clamp", "roll"]))
ENDS = [datetime(2024, 2, 29, 12, tzinfo=UTC), datetime(2024, 1, 31, 20, 59, 59, tzinfo=UTC),
        datetime(2024, 10, 27, 0, 30, tzinfo=UTC), datetime(2024, 3, 31, 1, 0, tzinfo=UTC)]


def agree(program, last_activity, now) -> None:
    burned = burns_at(program, last_activity).astimezone(UTC) <= now.astimezone(UTC)
    selected = last_activity.astimezone(UTC) < idle_cutoff(program, now).astimezone(UTC)
    assert burned == selected, (last_activity, now, burns_at(program, last_activity))


@settings(max_examples=400, deadline=None)
@given(setting=SETTINGS, last_activity=MOMENTS, offset=NEAR)
@example(setting=("Europe/Moscow", 12, "clamp"), last_activity=ENDS[0], offset=timedelta(0))
@example(setting=("Europe/Berlin", 1, "clamp"), last_activity=ENDS[1], offset=timedelta(0))
@example(setting=("Europe/Berlin", 12, "roll"), last_activity=ENDS[2], offset=timedelta(0))
@example(setting=("Europe/Berlin", 13, "roll"), last_activity=ENDS[3], offset=-timedelta(1))
def test_burns_at_and_idle_cutoff_agree_near_every_burn(program, setting, last_activity,
                                                        offset):
    zone, months, month_end = setting
    configured = a_program(program, timezone=zone, idle_months=months, month_end=month_end)
    agree(configured, last_activity, burns_at(configured, last_activity) + offset)


@settings(max_examples=400, deadline=None)
@given(setting=SETTINGS, now=MOMENTS, offset=NEAR)
def test_burns_at_and_idle_cutoff_agree_near_every_cutoff(program, setting, now, offset):
    zone, months, month_end = setting
    configured = a_program(program, timezone=zone, idle_months=months, month_end=month_end)
    agree(configured, idle_cutoff(configured, now) + offset, now)


@settings(max_examples=200, deadline=None)
@given(setting=SETTINGS, first=MOMENTS, second=MOMENTS)
def test_a_later_activity_never_burns_earlier(program, setting, first, second):
    zone, months, month_end = setting
    configured = a_program(program, timezone=zone, idle_months=months, month_end=month_end)
    first, second = sorted((first, second))
    assert burns_at(configured, first) <= burns_at(configured, second)
    assert burns_at(configured, first) - first >= timedelta(days=28 * months)
