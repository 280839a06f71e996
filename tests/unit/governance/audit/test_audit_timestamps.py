"""The records' ``ts``: formatted once per second, the same string datetime would give."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from governance.audit._records import utc_timestamp


def by_datetime(epoch_s: float) -> str:
    dt = datetime.fromtimestamp(epoch_s, UTC)
    if dt.year < 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.isoformat(timespec="microseconds")[:-6] + "Z"


@given(st.floats(min_value=-3e10, max_value=2.5e11, allow_nan=False))
@example(0.9999995)  # rounds up into the next second
@example(1700000000.0000005)  # half a microsecond: rounded to even
@example(1700000000.9999996)
@example(-0.5)
def test_the_timestamp_is_datetimes_to_the_microsecond(epoch_s: float) -> None:
    assert utc_timestamp(epoch_s) == by_datetime(epoch_s)


def test_consecutive_records_in_one_second_share_its_prefix() -> None:
    assert utc_timestamp(1735689600.25) == "2025-01-01T00:00:00.250000Z"
    assert utc_timestamp(1735689600.5) == "2025-01-01T00:00:00.500000Z"
    assert utc_timestamp(1735689601.0) == "2025-01-01T00:00:01.000000Z"
