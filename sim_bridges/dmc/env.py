"""dm_control visual tasks behind the asymmetric environment API, set up as V-MAIL uses them.

The trainee sees a rendered camera frame (camera 0, ``image_size`` square, 64 by default); the
expert sees the suite's own observation vector (joint positions/velocities, orientations and so
on), flattened in the suite's key order, which the camera only shows indirectly. Settings from
V-MAIL's DMC configuration (specs/vmail.md section 5): action repeat 2 (rewards of the repeated
steps are summed), actions normalised to [-1, 1], 1000 physics control steps per episode, i.e.
500 agent steps. Rendering uses the fast settings of platform.md (no multisampling, shadows or
reflections): that is what makes collecting image episodes affordable on a CPU.
Frames under 64 px are supersampled (sim_bridges/supersample.py): without it the upright
pole vanished from half the expert's balancing frames at 32 px.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")  # before MuJoCo creates a context: headless by default

import numpy as np

from sim_bridges.api import IMAGE, STATE, EnvInfo, Obs, action_space_for, observation_space_for
from sim_bridges.supersample import shrink, supersample_factor

DMC_TIME_LIMIT = 1000  # control steps of the suite's episodes (time_limit / control_timestep)


def _flatten(observation: dict[str, Any]) -> np.ndarray:
    return np.concatenate([np.asarray(v, np.float64).ravel() for v in observation.values()]).astype(
        np.float32
    )


class DMCEnv:
    """One dm_control suite task with camera frames and the suite's state vector."""

    def __init__(
        self,
        domain: str,
        task: str,
        *,
        image_size: int = 64,
        action_repeat: int = 2,
        camera_id: int = 0,
        render: bool = True,
        seed: int | None = None,
        angle_states: Sequence[str] = (),
    ) -> None:
        """``angle_states`` names state dimensions that are joint angles without limits: the
        suite reports them unwrapped (a spinning arm reaches ±90 rad), which no camera frame
        determines, so learners that predict the state need them as (cos, sin)."""
        from dm_control import suite

        if image_size < 8 or action_repeat < 1:
            raise ValueError(
                f"image_size must be >= 8 and action_repeat >= 1 (got {image_size}, {action_repeat})"
            )
        self._env = suite.load(domain, task, task_kwargs={"random": seed})
        self._physics = self._env.physics
        self._action_repeat = int(action_repeat)
        self._image_size = int(image_size)
        self._camera_id = int(camera_id)
        self._render_enabled = render
        self._fast_render_set = False
        spec = self._env.action_spec()
        self._action_low = np.asarray(spec.minimum, np.float64)
        self._action_high = np.asarray(spec.maximum, np.float64)
        spec_items = list(self._env.observation_spec().items())
        state_dim = int(sum(int(np.prod(s.shape)) for _, s in spec_items))
        # One name per state dimension, in _flatten's order (for probes and plots).
        self.state_names = tuple(
            key if int(np.prod(s.shape)) == 1 else f"{key}[{i}]"
            for key, s in spec_items
            for i in range(int(np.prod(s.shape)))
        )
        unknown = sorted(set(angle_states) - set(self.state_names))
        if unknown:
            raise ValueError(
                f"angle_states {unknown} are not state dimensions of {domain}_{task}: {self.state_names}"
            )
        self.state_angle_dims = tuple(self.state_names.index(n) for n in angle_states)
        model = self._physics.model
        names = tuple(model.id2name(i, "actuator") or f"a{i}" for i in range(model.nu))
        self.info = EnvInfo(
            name=f"{domain}_{task}",
            image_encoding="rgb8",
            image_shape=(self._image_size, self._image_size, 3),
            state_dim=state_dim,
            partial_state_dim=None,
            discrete_actions=None,
            action_dim=int(spec.shape[0]),
            action_low=(-1.0,) * int(spec.shape[0]),
            action_high=(1.0,) * int(spec.shape[0]),
            action_names=names,
            control_rate_hz=1.0 / (self._env.control_timestep() * self._action_repeat),
            horizon=DMC_TIME_LIMIT // self._action_repeat,
            reference_returns={"max": float(DMC_TIME_LIMIT)},
        )
        self.observation_space = observation_space_for(self.info)
        self.action_space = action_space_for(self.info)
        self._closed = False

    @property
    def physics(self) -> Any:
        """The dm_control Physics (for privileged experts that linearise the model, and tests)."""
        return self._physics

    # --- API ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        if self._closed:
            raise RuntimeError("dm_control environment is closed")
        if seed is not None:
            # The suite draws initial states from the task's RandomState; replacing it is the
            # only way to reseed a loaded environment without rebuilding physics and renderer.
            self._env.task._random = np.random.RandomState(seed)
        ts = self._env.reset()
        return self._observe(ts.observation), {"discount": 1.0}

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict]:
        if self._closed:
            raise RuntimeError("dm_control environment is closed")
        a = np.asarray(action, np.float64).reshape(self.info.action_dim)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"non-finite action for {self.info.name}: {a}")
        a = np.clip(a, -1.0, 1.0)
        scaled = self._action_low + (a + 1.0) * 0.5 * (self._action_high - self._action_low)
        reward = 0.0
        ts = None
        for _ in range(self._action_repeat):
            ts = self._env.step(scaled)
            reward += float(ts.reward or 0.0)
            if ts.last():
                break
        assert ts is not None
        discount = float(ts.discount) if ts.discount is not None else 1.0
        terminated = bool(ts.last() and discount == 0.0)
        truncated = bool(ts.last() and not terminated)
        return self._observe(ts.observation), reward, terminated, truncated, {"discount": discount}

    def frame(self) -> np.ndarray:
        """The camera frame of the current physics state: what an observation now would show."""
        return self._render(self._image_size)

    def render_privileged(self) -> np.ndarray:
        """The same camera at 4x the resolution (RGB uint8), for docs and debugging."""
        return self._render(4 * self._image_size)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._physics.free()

    def __enter__(self) -> DMCEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------
    def _observe(self, observation: dict[str, Any]) -> Obs:
        image = (
            self._render(self._image_size)
            if self._render_enabled
            else np.zeros(self.info.image_shape, np.uint8)
        )
        return {IMAGE: image, STATE: _flatten(observation)}

    def _render(self, size: int) -> np.ndarray:
        if not self._fast_render_set:
            m = self._physics.model
            m.vis.quality.offsamples = 0
            m.light_castshadow[:] = 0
            m.mat_reflectance[:] = 0
            self._fast_render_set = True
        k = supersample_factor(size)
        return shrink(self._physics.render(k * size, k * size, camera_id=self._camera_id), size)


def make_cartpole_swingup(**kwargs: Any) -> DMCEnv:
    """cartpole-swingup: the CPU-sized task (1-d action, 5-d state; pole starts hanging down)."""
    return DMCEnv("cartpole", "swingup", **kwargs)


def make_cartpole_balance(**kwargs: Any) -> DMCEnv:
    """cartpole-balance: the same cart-pole started near upright; the task is to keep it there."""
    return DMCEnv("cartpole", "balance", **kwargs)


def make_reacher_easy(**kwargs: Any) -> DMCEnv:
    """reacher-easy: a two-link arm seen from above reaches a random target (2-d action, 6-d state).

    The reward is 1 while the fingertip is inside the target and 0 otherwise, so doing nothing
    scores about 0, unlike cartpole-balance, where a falling pole still earns ~75% of the expert.
    """
    return DMCEnv("reacher", "easy", angle_states=("position[0]", "position[1]"), **kwargs)


POINT_MASS_TARGET_LIMIT = 0.25  # metres from the centre; the walls are at 0.3


def make_point_mass_easy(target: Sequence[float] | None = None, **kwargs: Any) -> DMCEnv:
    """point_mass-easy: a point pushed in the plane to a target, by default central (2-d action, 4-d state).

    The easiest suite task that still needs vision: the start is random, and the reward is
    paid only near the target, so doing nothing scores about 0. At 32 px the point covers
    about one pixel and the target two.

    ``target`` (x, y) moves the target: a task family for zero-shot transfer, in which the
    camera shows where the target is. The state vector stays (position, velocity); the expert
    reads the target from ``env.target``, its privileged knowledge of the task.
    """
    env = DMCEnv("point_mass", "easy", **kwargs)
    xy = np.zeros(2) if target is None else np.asarray(target, np.float64).ravel()
    if xy.shape != (2,) or not np.all(np.isfinite(xy)) or np.any(np.abs(xy) > POINT_MASS_TARGET_LIMIT):
        env.close()
        raise ValueError(
            f"point_mass target must be (x, y) with |x|, |y| <= {POINT_MASS_TARGET_LIMIT} m, got {target!r}"
        )
    # The reward measures the distance to the target geom, so moving the geom moves the task.
    env.physics.named.model.geom_pos["target", :2] = xy
    env.physics.forward()
    env.target = xy
    return env


def make_walker_walk(**kwargs: Any) -> DMCEnv:
    """walker-walk (6-d action, 24-d state), as in V-MAIL's DMC experiments."""
    return DMCEnv("walker", "walk", **kwargs)


def make_cheetah_run(**kwargs: Any) -> DMCEnv:
    """cheetah-run (6-d action, 17-d state), as in V-MAIL's DMC experiments."""
    return DMCEnv("cheetah", "run", angle_states=("position[1]",), **kwargs)  # rooty: the body can flip
