"""Privileged experts that act on the simulator state, to record visual demonstrations.

Only tasks with a controller written here have demos (see ``EXPERTS``); walker-walk and
cheetah-run need an RL expert trained on state, which is not part of this module.

cartpole-swingup: energy-based swing-up, then LQR balance. The LQR gain is not hand-tuned: it
comes from a finite-difference linearisation of the MuJoCo cart-pole about the upright
equilibrium over one agent step (the action repeat's physics steps), solved as a discrete
Riccati equation, so it stays right if the model's masses or gear change. reacher-easy:
Jacobian-transpose control of the fingertip towards the privileged target. point_mass-easy:
a PD controller on the privileged position and velocity. D'Claw turn/screw:
a finger gait steered by the privileged target error. CarRacing: pure pursuit on the
privileged track points.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, Protocol

os.environ.setdefault("MUJOCO_GL", "egl")  # before MuJoCo is first imported: headless rendering

import mujoco
import numpy as np
import scipy.linalg


class Expert(Protocol):
    """A deterministic state-feedback policy: privileged state in, normalised action out."""

    def reset(self) -> None: ...

    def act(self, state: np.ndarray) -> np.ndarray: ...


def linearise(
    model: mujoco.MjModel, qpos: np.ndarray, steps: int, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of x' = A x + B u over ``steps`` physics steps with u held, about qpos at rest.

    x = (qpos, qvel) deviation (models without free joints, so nq == nv); u = ctrl. Central
    differences through ``mj_step`` itself, because MuJoCo's analytic-FD helper
    (``mjd_transitionFD``) refuses the RK4 integrator the suite's cart-pole uses.
    """
    data = mujoco.MjData(model)
    n, m = model.nq + model.nv, model.nu
    x0 = np.concatenate([qpos, np.zeros(model.nv)])

    def roll(x: np.ndarray, u: np.ndarray) -> np.ndarray:
        mujoco.mj_resetData(model, data)
        data.qpos[:], data.qvel[:] = x[: model.nq], x[model.nq :]
        data.ctrl[:] = u
        mujoco.mj_step(model, data, nstep=steps)
        return np.concatenate([data.qpos, data.qvel])

    A, B = np.zeros((n, n)), np.zeros((n, m))
    for i in range(n):
        dx = np.zeros(n)
        dx[i] = eps
        A[:, i] = (roll(x0 + dx, np.zeros(m)) - roll(x0 - dx, np.zeros(m))) / (2 * eps)
    for j in range(m):
        du = np.zeros(m)
        du[j] = eps
        B[:, j] = (roll(x0, du) - roll(x0, -du)) / (2 * eps)
    return A, B


class CartpoleSwingupExpert:
    """Energy pumping until the pole is near upright, then LQR; state (x, cos, sin, xdot, thdot)."""

    def __init__(
        self,
        physics: Any,
        action_repeat: int = 2,
        energy_gain: float = 2.0,
        centre_gain: float = 1.2,
        switch_cos: float = 0.7,
    ) -> None:
        model = physics.model.ptr
        self._A, self._B = linearise(model, np.zeros(model.nq), action_repeat)
        Q = np.diag([1.0, 20.0, 0.5, 1.0])
        R = np.array([[0.1]])
        P = scipy.linalg.solve_discrete_are(self._A, self._B, Q, R)
        self.gain = np.linalg.solve(R + self._B.T @ P @ self._B, self._B.T @ P @ self._A)
        pole = model.body("pole_1")
        hinge_to_com = float(np.linalg.norm(pole.ipos))
        self._mgl = float(pole.mass[0]) * float(-model.opt.gravity[2]) * hinge_to_com
        self._inertia = float(pole.inertia[0]) + float(pole.mass[0]) * hinge_to_com**2
        self.energy_gain = energy_gain
        self.centre_gain = centre_gain
        self.switch_cos = switch_cos

    def reset(self) -> None:
        """Stateless controller: nothing to clear."""

    def act(self, state: np.ndarray) -> np.ndarray:
        x, cos, sin, xdot, thdot = (float(v) for v in np.asarray(state).ravel()[:5])
        theta = math.atan2(sin, cos)  # 0 = upright
        if cos > self.switch_cos:
            u = float(-(self.gain @ np.array([x, theta, xdot, thdot]))[0])
        else:
            # Energy relative to upright at rest; pump towards 0 and keep the cart centred.
            energy = 0.5 * self._inertia * thdot**2 + self._mgl * (cos - 1.0)
            pump = thdot * cos
            u = self.energy_gain * energy * math.copysign(1.0, pump if pump != 0 else 1.0)
            u -= self.centre_gain * (x + 0.3 * xdot)
        return np.array([np.clip(u, -1.0, 1.0)], np.float32)


class ReacherExpert:
    """Jacobian-transpose reaching: torque = kp J(q)^T (target - fingertip) - kd qdot.

    State: (shoulder, wrist angles, fingertip-to-target x, y, joint velocities), the suite's
    order. The Jacobian comes from MuJoCo's kinematics of the environment's own model, so link
    lengths are never copied here. The gains come from a small grid on 4 episodes (mean return
    983 with kp 200, kd 0.1; the controller is near bang-bang at that gain).
    """

    def __init__(self, physics: Any, kp: float = 200.0, kd: float = 0.1) -> None:
        self._model = physics.model.ptr
        self._data = mujoco.MjData(self._model)
        self._finger = self._model.body("finger").id
        self.kp, self.kd = kp, kd

    def reset(self) -> None:
        """Stateless controller: nothing to clear."""

    def act(self, state: np.ndarray) -> np.ndarray:
        s = np.asarray(state, np.float64).ravel()
        q, to_target, qdot = s[:2], s[2:4], s[4:6]
        self._data.qpos[:] = q
        mujoco.mj_kinematics(self._model, self._data)
        mujoco.mj_comPos(self._model, self._data)
        jac = np.zeros((3, self._model.nv))
        mujoco.mj_jacBody(self._model, self._data, jac, None, self._finger)
        u = self.kp * jac[:2].T @ to_target - self.kd * qdot
        return np.clip(u, -1.0, 1.0).astype(np.float32)


class PointMassExpert:
    """PD control of the point to the target: a = clip(-kp (x - target) - kd v).

    In the easy task the two actuators drive the x and y tendons one-to-one, so the state's
    position and velocity map straight onto the action. With kp 20 the controller saturates
    until the point is close, which is near the fastest approach; gains from a small grid on
    6 episodes (mean return 896; kp 3, kd 0.3 gives 632). The target is the suite's centre
    unless the environment moved it (the transfer family).
    """

    def __init__(self, kp: float = 20.0, kd: float = 2.0, target: Any = (0.0, 0.0)) -> None:
        self.kp, self.kd = kp, kd
        self.target = np.asarray(target, np.float64).ravel()

    def reset(self) -> None:
        """Stateless controller: nothing to clear."""

    def act(self, state: np.ndarray) -> np.ndarray:
        s = np.asarray(state, np.float64).ravel()
        return np.clip(-self.kp * (s[:2] - self.target) - self.kd * s[2:4], -1.0, 1.0).astype(np.float32)


class DClawGaitExpert:
    """A four-phase finger gait that turns the valve towards the privileged target.

    Each control step (0.1 s) moves to the next of: fingers down + base joints to -s, down + +s,
    up + +s, up + -s, so the fingertips push the prongs one way and return lifted; the sign of s
    follows the signed target error from the state, and strokes shorten near the target.
    Within ``tolerance`` of the target the claw goes back to its reset pose and holds, which
    also zeroes ROBEL's posture penalty. The down pose was found by a small grid search
    over (middle, tip) joint targets on the simulated claw, not taken from ROBEL.

    Not an expert for V-MAIL's velocity reward (DClawScrewVelp): the same gait at full stroke in
    a fixed direction turns the valve (+23 rad in 200 steps) but its fast finger motion costs
    more in the joint-velocity penalty than the turning earns (return -1549 against -11 for
    holding still; both measured).
    """

    DOWN = (0.5, -0.5)  # normalised (middle, tip) targets: fingertips on the prongs
    UP = (-1.0, 2.0 / 3.0)  # the reset pose (0, -pi/3, pi/3) in normalised units
    ERROR_INDEX = 21  # "target_error" in sim_bridges.dclaw.env.STATE_NAMES

    def __init__(self, tolerance: float = 0.1, gain: float = 2.0, min_sweep: float = 0.0) -> None:
        self.tolerance = tolerance
        self.gain = gain
        self.min_sweep = min_sweep
        self._phase = 0

    def reset(self) -> None:
        self._phase = 0

    def act(self, state: np.ndarray) -> np.ndarray:
        error = float(np.asarray(state).ravel()[self.ERROR_INDEX])
        if abs(error) < self.tolerance:
            return np.tile(np.array([0.0, *self.UP], np.float32), 3)
        # shorter strokes near the target, but not below min_sweep (too short a stroke stalls)
        sweep = math.copysign(min(1.0, max(self.min_sweep, self.gain * abs(error))), error)
        (middle, tip), base = [
            (self.DOWN, -sweep),
            (self.DOWN, sweep),
            (self.UP, sweep),
            (self.UP, -sweep),
        ][self._phase % 4]
        self._phase += 1
        return np.tile(np.array([base, middle, tip], np.float32), 3)


class CarRacingPursuitExpert:
    """Pure pursuit on the privileged track points, with a speed target that drops before curves.

    Steering turns towards the second track point ahead (about 6 tiles); the target speed
    falls linearly from ``fast`` to ``slow`` as the fifth point ahead (about 15 tiles) swings
    off the car's axis by up to 0.8 rad; gas and brake are proportional to the speed error.
    Gains from a handful of trial episodes on track seed 0; not tuned further.
    """

    def __init__(self, steer_gain: float = 1.5, fast: float = 1.3, slow: float = 0.7) -> None:
        from sim_bridges.car_racing.env import STATE_NAMES

        self._i = {n: i for i, n in enumerate(STATE_NAMES)}
        self.steer_gain, self.fast, self.slow = steer_gain, fast, slow

    def reset(self) -> None:
        """Stateless controller: nothing to clear."""

    def act(self, state: np.ndarray) -> np.ndarray:
        s, i = np.asarray(state).ravel(), self._i
        near = math.atan2(s[i["track1_left"]], s[i["track1_forward"]])
        far = math.atan2(s[i["track4_left"]], s[i["track4_forward"]])
        steer = -self.steer_gain * near  # the game steers right for positive values
        target = self.fast - (self.fast - self.slow) * min(1.0, abs(far) / 0.8)
        error = target - s[i["v_forward"]]
        gas, brake = np.clip(8 * error, 0, 1), np.clip(-8 * error, 0, 0.8)
        return np.array([np.clip(steer, -1, 1), 2 * gas - 1, 2 * brake - 1], np.float32)


def _dclaw(env: Any) -> Expert:
    if env.config.reward != "target":
        raise ValueError("no scripted D'Claw expert for the velocity reward (V-MAIL's DClawScrewVelp)")
    # Settings chosen by a small grid over (tolerance, gain, min_sweep) on the simulated tasks.
    return DClawGaitExpert(min_sweep=0.8 if env.config.task == "screw" else 0.0)


def _cartpole(env: Any) -> Expert:
    return CartpoleSwingupExpert(env.physics)


EXPERTS: dict[str, Callable[[Any], Expert]] = {
    "cartpole_swingup": _cartpole,
    "cartpole_balance": _cartpole,  # starts inside the LQR region, so only the balance part acts
    "reacher_easy": lambda env: ReacherExpert(env.physics),
    "point_mass_easy": lambda env: PointMassExpert(target=getattr(env, "target", (0.0, 0.0))),
    "dclaw_turn": _dclaw,
    "dclaw_screw": _dclaw,
    "car_racing": lambda env: CarRacingPursuitExpert(),
}


def make_expert(task: str, env: Any) -> Expert:
    """The scripted expert for a task, built against that environment's model."""
    if task not in EXPERTS:
        raise ValueError(
            f"no scripted expert for task {task!r} (have: {', '.join(sorted(EXPERTS))}); "
            "walker/cheetah experts need RL on state, which is not provided yet"
        )
    return EXPERTS[task](env)
