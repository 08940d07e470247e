"""D'Claw joints over standard ROS messages: JointState out, joint position targets in.

Why standard types: ros2_control users command arms with trajectory_msgs/JointTrajectory
(joint_trajectory_controller) or std_msgs/Float64MultiArray (forward position controller)
and read sensor_msgs/JointState; the D'Claw bridge speaks the same.

Targets are radians in the joint order of ``sim_bridges.dclaw.spec.JOINT_NAMES``. A
trajectory may list the joints in any order (they are matched by name); only its LAST point
is used, as a position target (the bridge does not interpolate). Anything malformed raises
ValueError naming the problem; the caller logs, counts and ignores it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

JOINT_COMMAND_CLASSES: dict[str, type] = {
    "trajectory_msgs/JointTrajectory": JointTrajectory,
    "std_msgs/Float64MultiArray": Float64MultiArray,
}


def joint_state_message(
    names: Sequence[str], positions: np.ndarray, velocities: np.ndarray, stamp: Time | None = None
) -> JointState:
    msg = JointState()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.name = list(names)
    msg.position = [float(x) for x in positions]
    msg.velocity = [float(x) for x in velocities]
    return msg


def targets_from_message(msg: JointTrajectory | Float64MultiArray, names: Sequence[str]) -> np.ndarray:
    """Joint position targets (rad, float64, in ``names`` order) from either command message."""
    if isinstance(msg, JointTrajectory):
        return _from_trajectory(msg, names)
    values = np.asarray(msg.data, np.float64)
    if values.size != len(names):
        raise ValueError(
            f"joint command needs {len(names)} positions ({', '.join(names)}), got {values.size}"
        )
    return _finite(values, names)


def _from_trajectory(msg: JointTrajectory, names: Sequence[str]) -> np.ndarray:
    given = list(msg.joint_names)
    unknown = sorted(set(given) - set(names))
    missing = [n for n in names if n not in given]
    if unknown or missing or len(given) != len(set(given)):
        raise ValueError(
            f"joint trajectory names must be each of {', '.join(names)} once; "
            f"unknown {unknown}, missing {missing}, given {given}"
        )
    if not msg.points:
        raise ValueError("joint trajectory has no points")
    positions = np.asarray(msg.points[-1].positions, np.float64)
    if positions.size != len(given):
        raise ValueError(
            f"joint trajectory point has {positions.size} positions for {len(given)} joint names"
        )
    order = [given.index(n) for n in names]
    return _finite(positions[order], names)


def _finite(values: np.ndarray, names: Sequence[str]) -> np.ndarray:
    bad = [names[i] for i in np.flatnonzero(~np.isfinite(values))]
    if bad:
        raise ValueError(f"non-finite joint targets for {', '.join(bad)}")
    return values
