"""Pure reward and score functions of the D'Claw tasks (dclaw.md), shared by sim and hardware."""

from __future__ import annotations

import math

import numpy as np

from sim_bridges.dclaw.spec import RESET_POSE

FAST_JOINT_THRESHOLD = 0.5  # rad/s: joint speeds at or above it are penalised


def angle_error(angle: float, target: float) -> float:
    """|target - angle| wrapped to [0, pi]."""
    d = (target - angle + math.pi) % (2 * math.pi) - math.pi
    return abs(d)


def posture_cost(claw_qpos: np.ndarray, claw_qvel: np.ndarray) -> tuple[float, float]:
    """(distance from the reset pose, norm of the fast joint velocities), both >= 0."""
    pose = float(np.linalg.norm(np.asarray(claw_qpos) - RESET_POSE))
    qvel = np.asarray(claw_qvel)
    fast = float(np.linalg.norm(qvel[np.abs(qvel) >= FAST_JOINT_THRESHOLD]))
    return pose, fast


def turn_reward(error: float, claw_qpos: np.ndarray, claw_qvel: np.ndarray) -> tuple[float, dict[str, float]]:
    """ROBEL's turn (and screw) reward: angle cost, posture costs and two closeness bonuses."""
    pose, fast = posture_cost(claw_qpos, claw_qvel)
    terms = {
        "target_dist_cost": -5.0 * error,
        "pose_diff": -pose,
        "joint_vel": -fast,
        "bonus_small": 10.0 * (error < 0.25),
        "bonus_big": 50.0 * (error < 0.10),
    }
    return float(sum(terms.values())), terms


def velocity_reward(
    valve_qvel: float, direction: int, claw_qpos: np.ndarray, claw_qvel: np.ndarray
) -> tuple[float, dict[str, float]]:
    """V-MAIL's DClawScrewVelp reward: posture costs plus 5 * direction * valve angular velocity."""
    pose, fast = posture_cost(claw_qpos, claw_qvel)
    terms = {"pose_diff": -pose, "joint_vel": -fast, "valve_velocity": 5.0 * direction * float(valve_qvel)}
    return float(sum(terms.values())), terms


def score(error: float) -> float:
    """ROBEL's normalised score: 1 at the target, 0 at the opposite angle."""
    return 1.0 - error / math.pi
