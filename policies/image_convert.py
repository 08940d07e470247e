"""Camera image -> model input conversion (encoding and size), ROS-free.

Why here and not in the ROS node: the same conversion serves the ROS node (which
decodes ``sensor_msgs/Image`` with :func:`image_from_buffer`), the in-process
evaluator and the tests, so a closed loop through ROS sees exactly the pixels an
in-process rollout sees.

Rules (kept cheap: this runs in a 200 Hz control loop; no copy when nothing changes):

* Encodings accepted: ``rgb8 bgr8 rgba8 bgra8 mono8 mono16``; models take ``rgb8`` or
  ``mono8``.
* Colour -> colour: channel reorder / alpha dropped (OpenCV ``cvtColor``).
* Colour -> mono: ITU-R BT.601 luminance (0.299 R + 0.587 G + 0.114 B, OpenCV rounding).
* ``mono16`` -> 8 bit: the high byte (``>> 8``).
* Mono -> colour: grey replicated into 3 channels (allowed here; whether a deployment
  accepts it is a policy decision made by :func:`policies.runtime.check_compatible`).
* Size: ``cv2.INTER_AREA`` when shrinking (anti-aliased), ``cv2.INTER_LINEAR`` when
  growing. Conversions are ordered so the resize touches the fewest channels and
  pixels (measured: 640x480 bgra8 -> 84x84 rgb8 ~0.9 ms, 84x84 bgr8 -> rgb8 ~5 us).
"""

from __future__ import annotations

import sys
from typing import Any

import cv2
import numpy as np

# encoding -> (channels, numpy dtype)
ENCODINGS: dict[str, tuple[int, type[np.generic]]] = {
    "rgb8": (3, np.uint8),
    "bgr8": (3, np.uint8),
    "rgba8": (4, np.uint8),
    "bgra8": (4, np.uint8),
    "mono8": (1, np.uint8),
    "mono16": (1, np.uint16),
}
MODEL_ENCODINGS = ("rgb8", "mono8")

# (source, target) -> cv2 colour conversion code; None = identity on channels.
_CVT: dict[tuple[str, str], int | None] = {
    ("rgb8", "rgb8"): None,
    ("bgr8", "rgb8"): cv2.COLOR_BGR2RGB,
    ("rgba8", "rgb8"): cv2.COLOR_RGBA2RGB,
    ("bgra8", "rgb8"): cv2.COLOR_BGRA2RGB,
    ("mono8", "rgb8"): cv2.COLOR_GRAY2RGB,
    ("rgb8", "mono8"): cv2.COLOR_RGB2GRAY,
    ("bgr8", "mono8"): cv2.COLOR_BGR2GRAY,
    ("rgba8", "mono8"): cv2.COLOR_RGBA2GRAY,
    ("bgra8", "mono8"): cv2.COLOR_BGRA2GRAY,
    ("mono8", "mono8"): None,
}


class ImageFormatError(ValueError):
    """An image (or its description) that cannot be decoded or converted."""


def channels_of(encoding: str) -> int:
    """Number of channels of a supported encoding."""
    return _spec(encoding)[0]


def is_color(encoding: str) -> bool:
    return channels_of(encoding) >= 3


def _spec(encoding: str) -> tuple[int, type[np.generic]]:
    try:
        return ENCODINGS[encoding]
    except (KeyError, TypeError):
        raise ImageFormatError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(ENCODINGS)}"
        ) from None


def image_from_buffer(
    data: Any, height: int, width: int, step: int, encoding: str, is_bigendian: bool = False
) -> np.ndarray:
    """Decode raw image bytes (``sensor_msgs/Image`` fields) into an HxWxC array.

    ``step`` is the row length in bytes, which may exceed ``width * bytes_per_pixel``
    (row padding); the padding is skipped without copying (the result is a strided
    view of ``data`` when ``data`` supports the buffer protocol). ``mono16`` gives a
    ``uint16`` array in native byte order; everything else ``uint8``.
    """
    channels, dtype = _spec(encoding)
    itemsize = np.dtype(dtype).itemsize
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, int | np.integer) or value <= 0:
            raise ImageFormatError(f"image {name} must be a positive integer, got {value!r}")
    row_bytes = width * channels * itemsize
    if not isinstance(step, int | np.integer) or step < row_bytes:
        raise ImageFormatError(
            f"image step {step!r} is smaller than width*bytes_per_pixel = "
            f"{width}*{channels * itemsize} = {row_bytes} "
            f"({encoding})"
        )
    try:
        flat = np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError):
        flat = np.asarray(data, dtype=np.uint8).reshape(-1)
    expected = height * step
    if flat.size != expected:
        raise ImageFormatError(
            f"image data has {flat.size} bytes but height*step = {height}*{step} = {expected} "
            f"({encoding} {width}x{height})"
        )
    rows = flat.reshape(height, step)[:, :row_bytes]
    if itemsize > 1:
        if step % itemsize:
            rows = rows.copy()  # odd step: realign so the 16-bit view is legal
        big = ">" if is_bigendian else "<"
        rows = rows.view(np.dtype(dtype).newbyteorder(big))
        if (sys.byteorder == "little") == bool(is_bigendian):
            rows = rows.astype(dtype)  # to native order
    return rows.reshape(height, width, channels)


def _as_hwc(image: np.ndarray, encoding: str) -> np.ndarray:
    channels, dtype = _spec(encoding)
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim == 2 and channels == 1:
        image = image[:, :, None]
    if image.ndim != 3:
        raise ImageFormatError(
            f"image must be HxWxC (or HxW for mono), got shape {image.shape} for {encoding}"
        )
    if image.shape[2] != channels:
        raise ImageFormatError(
            f"encoding {encoding} has {channels} channel(s) but the image shape is {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageFormatError(f"image has zero size: shape {image.shape}")
    if image.dtype != dtype:
        raise ImageFormatError(f"encoding {encoding} needs dtype {np.dtype(dtype).name}, got {image.dtype}")
    return image


def convert_image(
    image: np.ndarray,
    encoding: str,
    target_encoding: str,
    height: int | None = None,
    width: int | None = None,
) -> np.ndarray:
    """Convert ``image`` (HxWxC, or HxW for mono) to ``target_encoding`` and size.

    Returns a ``uint8`` HxWxC array with C = 3 (rgb8) or 1 (mono8). When nothing needs
    changing the input itself is returned (no copy): treat the result as read-only.
    ``height``/``width`` of None keep the input size.
    """
    if target_encoding not in MODEL_ENCODINGS:
        raise ImageFormatError(f"target encoding must be one of {MODEL_ENCODINGS}, got {target_encoding!r}")
    image = _as_hwc(image, encoding)
    src_h, src_w = image.shape[:2]
    out_h = src_h if height is None else height
    out_w = src_w if width is None else width
    for name, value in (("height", out_h), ("width", out_w)):
        if not isinstance(value, int | np.integer) or value <= 0:
            raise ImageFormatError(f"target {name} must be a positive integer, got {value!r}")
    if encoding == "mono16":
        image = (image >> 8).astype(np.uint8)
        encoding = "mono8"
    code = _CVT[(encoding, target_encoding)]
    resize = (out_h, out_w) != (src_h, src_w)
    shrink = out_h * out_w < src_h * src_w
    # Resize the fewest channels: colour -> mono before resizing; colour reorders after
    # a shrink (so they touch only the small image); grey replication always last.
    # Reorders commute exactly with resizing (it is per channel).
    before = code is not None and code != cv2.COLOR_GRAY2RGB and (target_encoding == "mono8" or not shrink)
    if before:
        image = cv2.cvtColor(image, code)
    if resize:
        interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        image = cv2.resize(image, (int(out_w), int(out_h)), interpolation=interpolation)
    if code is not None and not before:
        image = cv2.cvtColor(image, code)
    if image.ndim == 2:
        image = image[:, :, None]
    return image
