"""Layouts of the privileged ``state`` and the camera-revealable ``partial_state`` vectors.

Both vectors start with the same seven entries (ego pose, speed, wheel angle, truck
position), so the blind baselines can read either. Units: metres, radians, m/s; world
frame x along the road, y to the left. Child entries are zero when there is no child
(``state``) or when the camera cannot see it (``partial_state``).
"""

from __future__ import annotations

STATE_NAMES: tuple[str, ...] = (
    "ego_x",
    "ego_y",
    "ego_yaw",
    "ego_speed",
    "ego_steer_angle",  # road-wheel angle (rad): the steering actuator's state
    "truck_x",  # centre of the parked truck
    "truck_y",
    "child_present",  # 1.0 if a child is in this episode (hidden or not)
    "child_x",
    "child_y",
    "child_vx",
    "child_vy",
    "child_distance",  # ego centre to child centre; DISTANCE_CAP when there is no child
    "progress",  # ego_x / route length, in [0, 1]
)

PARTIAL_STATE_NAMES: tuple[str, ...] = (
    "ego_x",
    "ego_y",
    "ego_yaw",
    "ego_speed",
    "ego_steer_angle",
    "truck_x",
    "truck_y",
    "child_visible",  # 1.0 while the front camera can see the child
    "child_x",
    "child_y",
    "child_vx",
    "child_vy",
)

DISTANCE_CAP = 50.0

# Indices shared by both layouts.
EGO_X, EGO_Y, EGO_YAW, EGO_SPEED, EGO_STEER, TRUCK_X, TRUCK_Y = range(7)
CHILD_FLAG, CHILD_X, CHILD_Y, CHILD_VX, CHILD_VY = range(7, 12)
CHILD_DISTANCE, PROGRESS = 12, 13
