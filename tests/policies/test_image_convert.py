"""Image conversion: every encoding, row padding, sizes, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from policies.image_convert import ImageFormatError, convert_image, image_from_buffer

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)


def luminance(rgb: np.ndarray) -> np.ndarray:
    y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return np.round(y)[..., None]


def test_rgb8_identity_is_no_copy() -> None:
    out = convert_image(RGB, "rgb8", "rgb8", 6, 5)
    assert out is RGB


def test_bgr8_swaps_channels() -> None:
    out = convert_image(RGB[..., ::-1].copy(), "bgr8", "rgb8")
    np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize("encoding", ["rgba8", "bgra8"])
def test_alpha_is_dropped(encoding: str) -> None:
    color = RGB if encoding == "rgba8" else RGB[..., ::-1]
    alpha = RNG.integers(0, 256, (6, 5, 1), dtype=np.uint8)
    out = convert_image(np.concatenate([color, alpha], axis=2), encoding, "rgb8")
    np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
def test_color_to_mono_luminance(encoding: str) -> None:
    image = {
        "rgb8": RGB,
        "bgr8": RGB[..., ::-1],
        "rgba8": np.dstack([RGB, np.full((6, 5), 7, np.uint8)]),
        "bgra8": np.dstack([RGB[..., ::-1], np.full((6, 5), 7, np.uint8)]),
    }[encoding]
    out = convert_image(np.ascontiguousarray(image), encoding, "mono8")
    assert out.shape == (6, 5, 1) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - luminance(RGB)).max() <= 1


def test_mono_to_rgb_replicates() -> None:
    mono = RNG.integers(0, 256, (4, 3), dtype=np.uint8)
    out = convert_image(mono, "mono8", "rgb8")
    assert out.shape == (4, 3, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], mono)


def test_mono8_hw_and_hwc_accepted() -> None:
    mono = RNG.integers(0, 256, (4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(convert_image(mono, "mono8", "mono8")[..., 0], mono)
    np.testing.assert_array_equal(convert_image(mono[..., None], "mono8", "mono8")[..., 0], mono)


def test_mono16_keeps_high_byte() -> None:
    mono16 = np.array([[0, 255, 256, 65535], [0x1234, 0x8000, 0x00FF, 0xFF00]], np.uint16)
    out = convert_image(mono16, "mono16", "mono8")
    np.testing.assert_array_equal(out[..., 0], [[0, 0, 1, 255], [0x12, 0x80, 0, 0xFF]])
    rgb = convert_image(mono16, "mono16", "rgb8")
    np.testing.assert_array_equal(rgb[..., 1], out[..., 0])


def test_resize_area_when_shrinking_linear_when_growing() -> None:
    checker = np.zeros((8, 8, 3), np.uint8)
    checker[::2, ::2] = 255
    checker[1::2, 1::2] = 255
    small = convert_image(checker, "rgb8", "rgb8", 4, 4)
    assert small.shape == (4, 4, 3)
    np.testing.assert_array_equal(small, 128)  # INTER_AREA averages 2x2 blocks (nearest would alias)
    ramp = np.array([[0, 100]], np.uint8)[..., None].repeat(2, axis=0)
    big = convert_image(ramp, "mono8", "mono8", 2, 4)
    assert big.shape == (2, 4, 1)
    assert 0 < big[0, 1, 0] < big[0, 2, 0] < 100  # interpolated, not duplicated


def test_resize_with_mono_expansion_shape() -> None:
    out = convert_image(np.zeros((10, 20), np.uint8), "mono8", "rgb8", 5, 5)
    assert out.shape == (5, 5, 3)


@pytest.mark.parametrize(
    ("encoding", "channels", "bpp"),
    [("rgb8", 3, 3), ("bgr8", 3, 3), ("rgba8", 4, 4), ("bgra8", 4, 4), ("mono8", 1, 1), ("mono16", 1, 2)],
)
def test_from_buffer_respects_step_padding(encoding: str, channels: int, bpp: int) -> None:
    height, width, pad = 3, 5, 3
    dtype = np.uint16 if encoding == "mono16" else np.uint8
    image = RNG.integers(0, np.iinfo(dtype).max, (height, width, channels), dtype=dtype)
    rows = image.astype(np.dtype(dtype).newbyteorder("<")).view(np.uint8).reshape(height, -1)
    step = width * bpp + pad
    padded = np.concatenate([rows, np.full((height, pad), 0xAB, np.uint8)], axis=1)
    out = image_from_buffer(padded.tobytes(), height, width, step, encoding)
    assert out.shape == (height, width, channels) and out.dtype == dtype
    np.testing.assert_array_equal(out, image)
    # array.array / memoryview / list inputs (what rclpy may hand over) work too
    np.testing.assert_array_equal(
        image_from_buffer(memoryview(padded.tobytes()), height, width, step, encoding), image
    )
    np.testing.assert_array_equal(
        image_from_buffer(list(padded.tobytes()), height, width, step, encoding), image
    )
    # and the strided view converts like a contiguous image
    target = "mono8" if channels == 1 else "rgb8"
    np.testing.assert_array_equal(
        convert_image(out, encoding, target, 2, 2),
        convert_image(np.ascontiguousarray(out), encoding, target, 2, 2),
    )


def test_from_buffer_mono16_big_endian() -> None:
    values = np.array([[0x0102, 0xA0B0]], np.uint16)
    data = values.astype(">u2").tobytes()
    out = image_from_buffer(data, 1, 2, 4, "mono16", is_bigendian=True)
    np.testing.assert_array_equal(out[..., 0], values)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: convert_image(RGB, "yuv422", "rgb8"), "unsupported image encoding 'yuv422'"),
        (lambda: convert_image(RGB, "rgb8", "bgr8"), "target encoding"),
        (lambda: convert_image(RGB, "mono8", "mono8"), "encoding mono8 has 1 channel"),
        (lambda: convert_image(RGB.astype(np.uint16), "rgb8", "rgb8"), "needs dtype uint8"),
        (lambda: convert_image(np.zeros((0, 5, 3), np.uint8), "rgb8", "rgb8"), "zero size"),
        (lambda: convert_image(RGB, "rgb8", "rgb8", 0, 5), "target height must be a positive integer"),
        (lambda: convert_image(RGB.tolist(), "rgb8", "rgb8"), "numpy array"),
        (lambda: image_from_buffer(b"\0" * 44, 3, 5, 15, "rgb8"), "44 bytes but height*step = 3*15 = 45"),
        (lambda: image_from_buffer(b"\0" * 30, 3, 5, 10, "rgb8"), "step 10 is smaller than"),
        (lambda: image_from_buffer(b"", 0, 5, 15, "rgb8"), "height must be a positive integer"),
        (lambda: image_from_buffer(b"\0" * 9, 3, 3, 3, "jpeg"), "unsupported image encoding"),
    ],
)
def test_bad_inputs_raise_clear_errors(call: object, message: str) -> None:
    with pytest.raises(ImageFormatError, match=message.replace("*", r"\*")):
        call()  # type: ignore[operator]
