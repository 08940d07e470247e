"""The SafetyLayer (pure logic): clamps within-margin commands, refuses unsafe ones, stops fast joints."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim_bridges.dclaw.safety import SafetyLayer, SafetyLimits, UnsafeCommandError
from sim_bridges.dclaw.spec import HARD_HIGH, HARD_LOW, RESET_POSE

LAYER = SafetyLayer()
SAFE_LOW, SAFE_HIGH = LAYER.limits.safe_low, LAYER.limits.safe_high


def test_margin_is_five_degrees_inside_the_joint_limits() -> None:
    np.testing.assert_allclose(SAFE_LOW, HARD_LOW + math.radians(5))
    np.testing.assert_allclose(SAFE_HIGH, HARD_HIGH - math.radians(5))


def test_safe_command_passes_unchanged() -> None:
    target = RESET_POSE + 0.1
    cmd = LAYER.check(target, RESET_POSE, np.zeros(9), np.zeros(9))
    np.testing.assert_array_equal(cmd.targets, target)
    assert cmd.adjustments == {}


def test_within_margin_is_clamped() -> None:
    target = RESET_POSE.copy()
    target[0] = SAFE_LOW[0] - 0.1  # e.g. the action range's -0.48 on the base joint
    target[5] = SAFE_HIGH[5] + 0.05
    cmd = LAYER.check(target, np.clip(RESET_POSE, SAFE_LOW, SAFE_HIGH))
    assert cmd.targets[0] == pytest.approx(SAFE_LOW[0]) and cmd.targets[5] == pytest.approx(SAFE_HIGH[5])
    assert set(cmd.adjustments) == {"FFJ10", "MFJ22"}


@pytest.mark.parametrize(
    ("joint", "value", "match"),
    [
        (2, float("nan"), "non-finite target nan for joint FFJ12 \\(motor 12\\)"),
        (7, float("inf"), "motor 31"),
        (3, 3.0, "MFJ20 \\(motor 20\\) is .* outside the safe range"),
        (8, -2.5, "THJ32"),
    ],
)
def test_clearly_unsafe_targets_are_refused(joint: int, value: float, match: str) -> None:
    target = RESET_POSE.copy()
    target[joint] = value
    with pytest.raises(UnsafeCommandError, match=match):
        LAYER.check(target, RESET_POSE)


def test_too_large_a_jump_is_refused() -> None:
    target = RESET_POSE.copy()
    target[5] = RESET_POSE[5] - 1.6
    with pytest.raises(UnsafeCommandError, match=r"MFJ22 .* jumps 1\.600 rad"):
        LAYER.check(target, RESET_POSE)


def test_wrong_shape_is_refused() -> None:
    with pytest.raises(UnsafeCommandError, match="expected 9 joint targets"):
        LAYER.check(np.zeros(8), RESET_POSE)


def test_fast_or_overloaded_joints_are_stopped_at_their_position() -> None:
    measured = RESET_POSE + 0.05
    vel = np.zeros(9)
    vel[1] = 1.5
    cur = np.zeros(9)
    cur[6] = -250.0
    cmd = LAYER.check(RESET_POSE + 0.3, measured, vel, cur)
    assert cmd.targets[1] == pytest.approx(measured[1]) and cmd.targets[6] == pytest.approx(measured[6])
    assert cmd.targets[0] == pytest.approx(RESET_POSE[0] + 0.3)
    assert "velocity" in cmd.adjustments["FFJ11"] and "current" in cmd.adjustments["THJ30"]


def test_limits_are_configurable() -> None:
    strict = SafetyLayer(SafetyLimits(max_jump=0.2))
    with pytest.raises(UnsafeCommandError, match=r"limit 0\.2 rad"):
        strict.check(RESET_POSE + 0.3, RESET_POSE)
