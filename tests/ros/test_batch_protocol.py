"""The tick labels and stamps that pair a bridge step's messages (no DDS needed)."""

from __future__ import annotations

import numpy as np
import pytest
from std_msgs.msg import Int64MultiArray

from asymlearn_ros import batch_protocol as bp


@pytest.mark.parametrize("tick", [0, 1, 7, 2**28 + 12345, 2**30])
@pytest.mark.parametrize("rate", [10.0, 30.0, 7.0])
def test_stamps_convert_back_to_the_exact_tick(tick: int, rate: float) -> None:
    assert bp.stamp_tick(bp.tick_stamp(tick, rate), rate) == tick


def test_labels_round_trip_and_bad_labels_are_named() -> None:
    assert bp.parse_tick_label(bp.tick_label(42)) == (42, None)
    assert bp.parse_tick_label(bp.tick_label(5, [0, 3])) == (5, [0, 3])
    for bad in ("", "episode=1;step=2", "tick=x"):
        with pytest.raises(ValueError, match="malformed tick label"):
            bp.parse_tick_label(bad)
    with pytest.raises(ValueError, match="control rate"):
        bp.period_ns(0.0)


def test_rows_round_trip_and_inconsistent_layouts_are_rejected() -> None:
    rows = np.arange(12, dtype=np.float32).reshape(3, 4)
    label, back = bp.rows_from_msg(bp.rows_msg(rows, "tick=3"))
    assert label == "tick=3"
    np.testing.assert_array_equal(back, rows)
    seeds = bp.rows_msg(np.array([2**40, 5], np.int64), "tick=1", Int64MultiArray)
    assert bp.rows_from_msg(seeds)[1].reshape(-1).tolist() == [2**40, 5]
    empty = bp.rows_from_msg(bp.rows_msg(np.zeros(0, np.int64), "tick=2", Int64MultiArray))[1]
    assert empty.size == 0
    broken = bp.rows_msg(rows, "tick=3")
    broken.layout.dim[0].size = 4
    with pytest.raises(ValueError, match="layout says 4 x 4"):
        bp.rows_from_msg(broken)
