"""ROBEL's hardware safety limits as pure logic, applied BEFORE any command reaches a motor.

Policy (see docs/dclaw.md):
* a target must be 9 finite numbers, else it is refused;
* a target beyond the safe band (mechanical limits minus a 5 degree margin) by at most
  ``refuse_beyond`` is clamped into the band; further out it is refused;
* a target farther than ``max_jump`` from the measured position is refused (a policy bug,
  not a motion to smooth over);
* a joint measured above the velocity (1 rad/s) or current (200 mA) limit is stopped: its
  target becomes its measured position for this command.
Refusals raise ``UnsafeCommandError`` naming the joint and motor; nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim_bridges.dclaw.spec import (
    HARD_HIGH,
    HARD_LOW,
    JOINT_NAMES,
    MOTOR_IDS,
    NUM_JOINTS,
    SAFETY_MARGIN_RAD,
    SAFETY_MAX_CURRENT_MA,
    SAFETY_MAX_VELOCITY,
)


class UnsafeCommandError(ValueError):
    """A joint command that the safety layer will not send."""


@dataclass(frozen=True)
class SafetyLimits:
    """Limits in radians, rad/s and mA; defaults are ROBEL's D'Claw values."""

    hard_low: tuple[float, ...] = tuple(HARD_LOW)
    hard_high: tuple[float, ...] = tuple(HARD_HIGH)
    margin: float = SAFETY_MARGIN_RAD
    refuse_beyond: float = 0.25  # rad outside the safe band before clamping turns into refusal
    max_jump: float = 1.5  # rad between measured position and target
    max_velocity: float = SAFETY_MAX_VELOCITY
    max_current_ma: float = SAFETY_MAX_CURRENT_MA

    @property
    def safe_low(self) -> np.ndarray:
        return np.asarray(self.hard_low) + self.margin

    @property
    def safe_high(self) -> np.ndarray:
        return np.asarray(self.hard_high) - self.margin


@dataclass
class SafeCommand:
    """The targets to send and what the layer changed (joint name -> reason)."""

    targets: np.ndarray
    adjustments: dict[str, str] = field(default_factory=dict)


def _joint(i: int) -> str:
    return f"joint {JOINT_NAMES[i]} (motor {MOTOR_IDS[i]})"


class SafetyLayer:
    """Checks and clamps joint position targets against measured state; stateless apart from limits."""

    def __init__(self, limits: SafetyLimits | None = None) -> None:
        self.limits = limits or SafetyLimits()

    def check(
        self,
        targets: np.ndarray,
        positions: np.ndarray,
        velocities: np.ndarray | None = None,
        currents_ma: np.ndarray | None = None,
    ) -> SafeCommand:
        """The command to send for these targets given the measured state, or UnsafeCommandError."""
        lim = self.limits
        t = np.asarray(targets, np.float64)
        if t.shape != (NUM_JOINTS,):
            raise UnsafeCommandError(f"expected {NUM_JOINTS} joint targets, got shape {t.shape}")
        q = np.asarray(positions, np.float64).reshape(NUM_JOINTS)
        for i in np.flatnonzero(~np.isfinite(t)):
            raise UnsafeCommandError(f"non-finite target {t[i]} for {_joint(i)}")
        low, high = lim.safe_low, lim.safe_high
        outside = np.maximum(low - t, t - high)
        for i in np.flatnonzero(outside > lim.refuse_beyond):
            raise UnsafeCommandError(
                f"target {t[i]:.3f} rad for {_joint(i)} is {outside[i]:.3f} rad outside the safe range "
                f"[{low[i]:.3f}, {high[i]:.3f}] (more than {lim.refuse_beyond} rad): refused"
            )
        adjustments: dict[str, str] = {}
        clamped = np.clip(t, low, high)
        for i in np.flatnonzero(clamped != t):
            adjustments[JOINT_NAMES[i]] = f"clamped {t[i]:.3f} -> {clamped[i]:.3f}"
        jump = np.abs(clamped - q)
        for i in np.flatnonzero(jump > lim.max_jump):
            raise UnsafeCommandError(
                f"target for {_joint(i)} jumps {jump[i]:.3f} rad from the measured {q[i]:.3f} rad "
                f"(limit {lim.max_jump} rad): refused"
            )
        stop = np.zeros(NUM_JOINTS, bool)
        if velocities is not None:
            v = np.abs(np.asarray(velocities, np.float64).reshape(NUM_JOINTS))
            for i in np.flatnonzero(v > lim.max_velocity):
                adjustments[JOINT_NAMES[i]] = f"stopped: |velocity| {v[i]:.2f} > {lim.max_velocity} rad/s"
                stop[i] = True
        if currents_ma is not None:
            c = np.abs(np.asarray(currents_ma, np.float64).reshape(NUM_JOINTS))
            for i in np.flatnonzero(c > lim.max_current_ma):
                adjustments[JOINT_NAMES[i]] = f"stopped: |current| {c[i]:.0f} > {lim.max_current_ma} mA"
                stop[i] = True
        # A stopped joint holds where it is, but never outside the safe band.
        out = np.where(stop, np.clip(q, low, high), clamped)
        return SafeCommand(out, adjustments)
