"""D'Claw numbers shared by the simulation, the safety layer and the hardware bridge (dclaw.md).

Joint order everywhere: FF (motors 10-12), MF (20-22), TH (30-32), base to tip.
"""

from __future__ import annotations

import math

import numpy as np

NUM_JOINTS = 9
JOINT_NAMES: tuple[str, ...] = (
    "FFJ10", "FFJ11", "FFJ12", "MFJ20", "MFJ21", "MFJ22", "THJ30", "THJ31", "THJ32",
)  # fmt: skip
MOTOR_IDS: tuple[int, ...] = (10, 11, 12, 20, 21, 22, 30, 31, 32)
VALVE_MOTOR_ID = 50
GUIDE_MOTOR_ID = 60
VALVE_JOINT = "valve_OBJRx"

# Commanded (action) ranges per finger joint, base to tip.
_FINGER_LOW = (-0.48, -math.pi / 3, -math.pi / 2)
POS_LOW = np.array(_FINGER_LOW * 3, np.float64)
POS_HIGH = -POS_LOW
VEL_LIMIT = 2 * math.pi / 3  # rad/s, the observation range of joint velocities
RESET_POSE = np.array((0.0, -math.pi / 3, math.pi / 3) * 3, np.float64)

# Mechanical joint limits of the MJCF (ROBEL's chain3xh.xml), used by the hardware safety margins.
_FINGER_HARD_LOW = (-0.45, -2.0, -2.0)
_FINGER_HARD_HIGH = (1.35, 2.0, 2.0)
HARD_LOW = np.array(_FINGER_HARD_LOW * 3, np.float64)
HARD_HIGH = np.array(_FINGER_HARD_HIGH * 3, np.float64)

SIM_TIMESTEP = 0.0025
FRAME_SKIP = 40  # 0.1 s per control step -> 10 Hz
CONTROL_DT = SIM_TIMESTEP * FRAME_SKIP

# Hardware: Dynamixel protocol 2.0 at 1 Mbaud; ROBEL's safety limits.
PROTOCOL_VERSION = 2.0
BAUDRATE = 1_000_000
SAFETY_MARGIN_RAD = math.radians(5.0)
SAFETY_MAX_VELOCITY = 1.0  # rad/s
SAFETY_MAX_CURRENT_MA = 200.0


def denormalize_action(action: np.ndarray) -> np.ndarray:
    """[-1, 1]^9 -> joint position targets (rad), linear per joint; out-of-range values are clipped."""
    a = np.clip(np.asarray(action, np.float64).reshape(NUM_JOINTS), -1.0, 1.0)
    return POS_LOW + (a + 1.0) * 0.5 * (POS_HIGH - POS_LOW)


def normalize_positions(qpos: np.ndarray) -> np.ndarray:
    """Inverse of denormalize_action (no clipping), e.g. to express the reset pose as an action."""
    q = np.asarray(qpos, np.float64)
    return 2.0 * (q - POS_LOW) / (POS_HIGH - POS_LOW) - 1.0
