"""Supersampling of small camera frames: the factor, and area-averaging down."""

from __future__ import annotations

import numpy as np
import pytest

from sim_bridges.supersample import shrink, supersample_factor


@pytest.mark.parametrize(("size", "factor"), [(16, 4), (20, 4), (32, 2), (48, 2), (64, 1), (128, 1)])
def test_small_frames_are_rendered_at_least_64_px(size: int, factor: int) -> None:
    assert supersample_factor(size) == factor and size * factor >= 64


def test_shrink_averages_blocks_and_keeps_a_thin_line() -> None:
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[:, 21] = 200  # a one-pixel line at full resolution
    small = shrink(frame, 32)
    assert small.shape == (32, 32, 3) and small.flags.c_contiguous
    np.testing.assert_array_equal(small[:, 10], 100)  # half of each 2x2 block
    assert small[:, [9, 11]].max() == 0
    np.testing.assert_array_equal(shrink(frame, 64), frame)  # already the size: unchanged
