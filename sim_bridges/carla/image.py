"""CARLA camera frames -> the embedded scenario's image format (HxWx1 mono8)."""

from __future__ import annotations

import numpy as np

from sim_bridges.driving.camera import rgb_to_mono


def bgra_to_mono(
    raw: bytes | memoryview | np.ndarray, height: int, width: int, out_shape: tuple[int, int] | None = None
) -> np.ndarray:
    """CARLA's BGRA ``raw_data`` -> grayscale with the embedded env's luma, area-resized if needed."""
    bgra = np.frombuffer(raw, np.uint8).reshape(height, width, 4)
    mono = rgb_to_mono(np.ascontiguousarray(bgra[..., 2::-1]))
    if out_shape is not None and out_shape != (height, width):
        import cv2

        mono = cv2.resize(mono[..., 0], (out_shape[1], out_shape[0]), interpolation=cv2.INTER_AREA)[..., None]
    return mono
