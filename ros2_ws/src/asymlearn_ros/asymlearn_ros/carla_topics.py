"""carla-ros-bridge topic names and standard-message stand-ins for its CARLA-specific messages.

Why: users of the carla-ros-bridge ecosystem look for ``/carla/<role>/rgb_front/image``,
``.../vehicle_control_cmd`` and ``.../odometry``. ``carla_msgs`` is not installable here,
so control travels as ``std_msgs/Float32MultiArray`` holding ``[throttle, steer, brake]``
in CARLA's own conventions (the first three fields of ``CarlaEgoVehicleControl``, same
order, ranges and signs: throttle and brake in [0, 1], steer in [-1, 1] with positive
steering RIGHT). The layout's label says so, so a consumer can check what it receives.

The environments' action is ``[steer, pedal]`` with steer > 0 LEFT and pedal > 0 throttle,
< 0 brake (``sim_bridges/driving``); the two functions here convert between them.
"""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry
from std_msgs.msg import Float32MultiArray, MultiArrayDimension

CONTROL_FIELDS: tuple[str, str, str] = ("throttle", "steer", "brake")
CONTROL_LABEL = ",".join(CONTROL_FIELDS)
TOLERANCE = 1e-6  # float rounding on the way through float32 is not a range violation


def carla_topics(role_name: str = "ego_vehicle") -> dict[str, str]:
    """Absolute topic names the carla-ros-bridge uses for an ego vehicle with this role name."""
    root = f"/carla/{role_name}"
    return {
        "image": f"{root}/rgb_front/image",
        "camera_info": f"{root}/rgb_front/camera_info",
        "action": f"{root}/vehicle_control_cmd",
        "odometry": f"{root}/odometry",
        "speedometer": f"{root}/speedometer",
    }


def action_to_control(action: np.ndarray) -> np.ndarray:
    """Env action [steer (left +), pedal] -> [throttle, steer (right +), brake], all clipped to range."""
    steer, pedal = np.clip(np.asarray(action, np.float64).reshape(2), -1.0, 1.0)
    return np.array([max(pedal, 0.0), -steer, max(-pedal, 0.0)], np.float32)


def control_to_action(values: np.ndarray) -> np.ndarray:
    """[throttle, steer, brake] -> env action [steer, pedal = throttle - brake].

    Raises ValueError for the wrong length, non-finite values or values out of range.
    """
    v = np.asarray(values, np.float64).reshape(-1)
    if v.size != 3:
        raise ValueError(f"vehicle control needs 3 values [{CONTROL_LABEL}], got {v.size}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"vehicle control has non-finite values {v.tolist()}")
    throttle, steer, brake = v
    for name, value, low in (("throttle", throttle, 0.0), ("steer", steer, -1.0), ("brake", brake, 0.0)):
        if not low - TOLERANCE <= value <= 1.0 + TOLERANCE:
            raise ValueError(f"vehicle control {name} {value:g} outside [{low:g}, 1]")
    return np.clip(np.array([-steer, throttle - brake], np.float32), -1.0, 1.0)


def control_message(control: np.ndarray, out: Float32MultiArray | None = None) -> Float32MultiArray:
    """Fill (or create) the labelled Float32MultiArray for [throttle, steer, brake]."""
    msg = out if out is not None else Float32MultiArray()
    if not msg.layout.dim:
        msg.layout.dim = [MultiArrayDimension(label=CONTROL_LABEL, size=3, stride=3)]
    msg.data = [float(x) for x in control]
    return msg


def odometry_message(
    x: float, y: float, yaw: float, speed: float, stamp: Time, frame_id: str, child_frame_id: str
) -> Odometry:
    """Planar pose and forward speed as nav_msgs/Odometry (REP 103: x forward, y left, yaw CCW).

    The twist is in the child (vehicle) frame, as in the carla-ros-bridge, so forward speed
    is ``twist.linear.x``. Covariances stay zero (simulator ground truth).
    """
    msg = Odometry()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.child_frame_id = child_frame_id
    msg.pose.pose.position.x, msg.pose.pose.position.y = float(x), float(y)
    msg.pose.pose.orientation.z = math.sin(0.5 * yaw)
    msg.pose.pose.orientation.w = math.cos(0.5 * yaw)
    msg.twist.twist.linear.x = float(speed)
    return msg
