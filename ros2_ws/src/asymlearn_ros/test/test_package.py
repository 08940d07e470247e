"""Package-level checks run by `colcon test`: entry points import, messages convert."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from asymlearn_ros.ros_image import to_image_msg

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _console_scripts() -> list[tuple[str, str]]:
    text = (PACKAGE_DIR / "setup.py").read_text()
    return re.findall(r'"([\w]+) = ([\w.]+):main"', text)


def test_every_console_script_points_at_a_main() -> None:
    scripts = _console_scripts()
    assert scripts, "setup.py declares no console scripts"
    for name, module in scripts:
        assert callable(importlib.import_module(module).main), name


@pytest.mark.parametrize(
    ("encoding", "shape", "dtype"),
    [("mono8", (4, 5), np.uint8), ("rgb8", (4, 5, 3), np.uint8), ("mono16", (4, 5), np.uint16)],
)
def test_image_message_is_dense_and_lossless(encoding: str, shape: tuple, dtype: type) -> None:
    array = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    msg = to_image_msg(array, encoding)
    assert (msg.height, msg.width) == shape[:2]
    assert msg.step * msg.height == len(msg.data)
    back = np.frombuffer(bytes(msg.data), dtype).reshape(shape)
    np.testing.assert_array_equal(back, array)


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported image encoding"):
        to_image_msg(np.zeros((2, 2), np.uint8), "yuv422")
