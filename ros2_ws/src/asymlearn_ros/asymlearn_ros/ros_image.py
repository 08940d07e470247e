"""sensor_msgs/Image <-> numpy without cv_bridge (not available from the pip wheels)."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image

CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "mono16": 1}


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
