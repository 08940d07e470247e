"""sensor_msgs/Image <-> numpy without cv_bridge (not available from the pip wheels).

Decoding delegates to :func:`policies.image_convert.image_from_buffer` so the ROS node,
the evaluator and the tests agree on what a valid image is.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from policies.image_convert import ImageFormatError, image_from_buffer

CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "mono16": 1}

__all__ = ["CHANNELS", "ImageFormatError", "camera_info_for", "image_from_msg", "to_image_msg"]


def to_image_msg(array: np.ndarray, encoding: str, frame_id: str = "camera", stamp=None) -> Image:
    """Pack an HxWxC (or HxW) uint8/uint16 array as a dense Image message."""
    if encoding not in CHANNELS:
        raise ValueError(f"unsupported image encoding {encoding!r}; supported: {sorted(CHANNELS)}")
    array = np.ascontiguousarray(array)
    msg = Image()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(msg.width * CHANNELS[encoding] * array.dtype.itemsize)
    msg.data = array.tobytes()
    return msg


def image_from_msg(msg: Image) -> np.ndarray:
    """HxWxC view of an Image message's bytes (no copy for dense 8-bit images).

    Raises ImageFormatError (a ValueError) for unknown encodings, zero sizes, a step
    shorter than a row, or a data length other than step*height.
    """
    return image_from_buffer(msg.data, msg.height, msg.width, msg.step, msg.encoding, bool(msg.is_bigendian))


def camera_info_for(image: Image) -> CameraInfo:
    """An uncalibrated CameraInfo matching an image (size, frame and stamp; K/P all zero).

    Simulated gridworld cameras have no meaningful pinhole model; consumers that need one
    must calibrate. Zero K is the ROS convention for "uncalibrated".
    """
    info = CameraInfo()
    info.header = image.header
    info.height, info.width = image.height, image.width
    info.distortion_model = "plumb_bob"
    return info
