"""D'Claw valve turning and screwing on MuJoCo 3, behind the asymmetric environment API.

The trainee sees an RGB camera frame of the claw and valve; the expert sees the full
proprioceptive and object state plus the target error (the target marker is hidden from
the trainee camera, so only the privileged state knows where the target is). Tasks follow
ROBEL's DClawTurnFixed / DClawScrewFixed / DClawScrewRandom and V-MAIL's DClawScrewVelp
(``reward="velocity"``): see docs/dclaw.md for the exact variants.

The valve joint is made unlimited (ROBEL limits it to +-2 pi): a screw episode of 200
steps can turn further than that, and every observation of the angle uses cos/sin.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")  # before MuJoCo creates a context: headless by default

import mujoco
import numpy as np

from sim_bridges.api import (
    IMAGE,
    PARTIAL_STATE,
    STATE,
    EnvInfo,
    Obs,
    action_space_for,
    observation_space_for,
)
from sim_bridges.dclaw import rewards
from sim_bridges.dclaw.models import load_model
from sim_bridges.dclaw.spec import (
    CONTROL_DT,
    FRAME_SKIP,
    JOINT_NAMES,
    NUM_JOINTS,
    RESET_POSE,
    VALVE_JOINT,
    denormalize_action,
    normalize_positions,
)
from sim_bridges.supersample import shrink, supersample_factor

STATE_NAMES: tuple[str, ...] = (
    *(f"{j}_pos" for j in JOINT_NAMES),
    *(f"{j}_vel" for j in JOINT_NAMES),
    "valve_cos",
    "valve_sin",
    "valve_vel",
    "target_error",  # signed, wrapped to [-pi, pi]; 0 for the velocity reward
    *(f"last_action_{j}" for j in JOINT_NAMES),
)
# What the robot knows without the privileged target: its joints, the valve pose the camera
# shows, and its own last command.
PARTIAL_STATE_NAMES: tuple[str, ...] = (
    *(f"{j}_pos" for j in JOINT_NAMES),
    "valve_cos",
    "valve_sin",
    *(f"last_action_{j}" for j in JOINT_NAMES),
)

# V-MAIL's camera: a free camera looking down at the valve.
CAMERA_DISTANCE = 0.5
CAMERA_AZIMUTH = 180.0
CAMERA_ELEVATION = -30.0
CAMERA_LOOKAT = (0.0, 0.0, 0.2)


@dataclass(frozen=True)
class TaskConfig:
    """One D'Claw task variant (see module docstring)."""

    task: str = "turn"  # "turn" or "screw"
    horizon: int = 40
    target: float = math.pi  # turn: fixed target angle
    screw_velocity: float = 0.5  # screw: rad/s the target advances
    random_start: bool = False  # screw: start in +-pi, velocity U(-0.75, 0.75) (ScrewRandom)
    reward: str = "target"  # "target" (ROBEL) or "velocity" (V-MAIL DClawScrewVelp)
    direction: int = 1  # velocity reward: +1 (v0) or -1 (v1)
    success_threshold: float = 0.1


def _free_camera() -> mujoco.MjvCamera:
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance = CAMERA_DISTANCE
    cam.azimuth = CAMERA_AZIMUTH
    cam.elevation = CAMERA_ELEVATION
    cam.lookat[:] = CAMERA_LOOKAT
    return cam


class DClawEnv:
    """One simulated D'Claw with a valve; actions are normalised joint position targets."""

    def __init__(
        self,
        config: TaskConfig | None = None,
        *,
        valve: str = "valve3",
        image_size: int = 128,
        render: bool = True,
        seed: int | None = None,
    ) -> None:
        self.config = config or TaskConfig()
        if self.config.task not in ("turn", "screw") or self.config.reward not in ("target", "velocity"):
            raise ValueError(f"unsupported D'Claw task config: {self.config}")
        self.model = load_model(valve)
        m = self.model
        self._valve_jnt = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, VALVE_JOINT)
        m.jnt_limited[self._valve_jnt] = 0
        self._valve_qpos = int(m.jnt_qposadr[self._valve_jnt])
        self._valve_dof = int(m.jnt_dofadr[self._valve_jnt])
        claw = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n) for n in JOINT_NAMES]
        self._claw_qpos = np.array([m.jnt_qposadr[j] for j in claw])
        self._claw_dof = np.array([m.jnt_dofadr[j] for j in claw])
        self._target_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "target")
        tmark = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "tmark")
        m.site_group[tmark] = 3  # privileged: hidden from the trainee camera
        self.data = mujoco.MjData(m)
        self._image_size = image_size
        self._renderer: mujoco.Renderer | None = None
        self._render_enabled = render
        self._camera = _free_camera()
        self._cam_opt = mujoco.MjvOption()
        self._priv_opt = mujoco.MjvOption()
        self._priv_opt.sitegroup[:] = 1
        self.info = EnvInfo(
            name=f"dclaw_{self.config.task}",
            image_encoding="rgb8",
            image_shape=(image_size, image_size, 3),
            state_dim=len(STATE_NAMES),
            partial_state_dim=len(PARTIAL_STATE_NAMES),
            discrete_actions=None,
            action_dim=NUM_JOINTS,
            action_low=(-1.0,) * NUM_JOINTS,
            action_high=(1.0,) * NUM_JOINTS,
            action_names=JOINT_NAMES,
            control_rate_hz=1.0 / CONTROL_DT,
            horizon=self.config.horizon,
        )
        self.observation_space = observation_space_for(self.info)
        self.action_space = action_space_for(self.info)
        self._rng = np.random.default_rng(seed)
        self._target = 0.0
        self._target_velocity = 0.0
        self._last_action = normalize_positions(RESET_POSE)
        self._steps = 0
        self._closed = False

    # --- API ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        cfg, d = self.config, self.data
        mujoco.mj_resetData(self.model, d)
        start = 0.0
        if cfg.task == "turn":
            self._target, self._target_velocity = cfg.target, 0.0
        else:
            self._target_velocity = cfg.screw_velocity
            if cfg.random_start:
                start = float(self._rng.uniform(-math.pi, math.pi))
                self._target_velocity = float(self._rng.uniform(-0.75, 0.75))
            self._target = start
        d.qpos[self._claw_qpos] = RESET_POSE
        d.qpos[self._valve_qpos] = start
        d.ctrl[:] = RESET_POSE
        self._last_action = normalize_positions(RESET_POSE)
        self._steps = 0
        self._place_target_marker()
        mujoco.mj_forward(self.model, d)
        return self._observe(), self._step_info(0.0, {})

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict]:
        a = np.clip(np.asarray(action, np.float64).reshape(NUM_JOINTS), -1.0, 1.0)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"non-finite D'Claw action: {a}")
        self.data.ctrl[:] = denormalize_action(a)
        mujoco.mj_step(self.model, self.data, nstep=FRAME_SKIP)
        self._last_action = a
        self._target += self._target_velocity * CONTROL_DT
        self._steps += 1
        self._place_target_marker()
        reward, terms = self._reward()
        truncated = self._steps >= self.config.horizon
        return self._observe(), reward, False, truncated, self._step_info(reward, terms)

    def render_privileged(self) -> np.ndarray:
        """The same view with the target marker shown (RGB uint8)."""
        return self._render(self._priv_opt)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._closed = True

    def __enter__(self) -> DClawEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------
    @property
    def valve_angle(self) -> float:
        return float(self.data.qpos[self._valve_qpos])

    def _place_target_marker(self) -> None:
        half = 0.5 * self._target
        self.model.body_quat[self._target_body] = (math.cos(half), 0.0, 0.0, math.sin(half))

    def _signed_error(self) -> float:
        if self.config.reward == "velocity":
            return 0.0
        return (self._target - self.valve_angle + math.pi) % (2 * math.pi) - math.pi

    def _reward(self) -> tuple[float, dict[str, float]]:
        qpos = self.data.qpos[self._claw_qpos]
        qvel = self.data.qvel[self._claw_dof]
        if self.config.reward == "velocity":
            valve_vel = float(self.data.qvel[self._valve_dof])
            return rewards.velocity_reward(valve_vel, self.config.direction, qpos, qvel)
        return rewards.turn_reward(abs(self._signed_error()), qpos, qvel)

    def _step_info(self, reward: float, terms: dict[str, float]) -> dict:
        error = abs(self._signed_error())
        return {
            "valve_angle": self.valve_angle,
            "target": self._target,
            "score": rewards.score(error),
            "success": bool(self.config.reward == "target" and error < self.config.success_threshold),
            "reward_terms": terms,
        }

    def _state_parts(self) -> dict[str, np.ndarray]:
        angle = self.valve_angle
        return {
            "qpos": self.data.qpos[self._claw_qpos],
            "qvel": self.data.qvel[self._claw_dof],
            "valve": np.array([math.cos(angle), math.sin(angle)]),
            "valve_vel": self.data.qvel[self._valve_dof : self._valve_dof + 1],
            "error": np.array([self._signed_error()]),
            "last_action": self._last_action,
        }

    def _observe(self) -> Obs:
        p = self._state_parts()
        state = np.concatenate(
            [p["qpos"], p["qvel"], p["valve"], p["valve_vel"], p["error"], p["last_action"]]
        ).astype(np.float32)
        partial = np.concatenate([p["qpos"], p["valve"], p["last_action"]]).astype(np.float32)
        if self._render_enabled:
            image = self._render(self._cam_opt)
        else:
            image = np.zeros(self.info.image_shape, np.uint8)
        return {IMAGE: image, STATE: state, PARTIAL_STATE: partial}

    def _render(self, option: mujoco.MjvOption) -> np.ndarray:
        if self._closed:
            raise RuntimeError("D'Claw environment is closed")
        if self._renderer is None:
            m = self.model
            m.vis.quality.offsamples = 0  # fast settings (platform.md): no MSAA, shadows, reflections
            m.light_castshadow[:] = 0
            m.mat_reflectance[:] = 0
            size = supersample_factor(self._image_size) * self._image_size  # thin parts survive
            self._renderer = mujoco.Renderer(m, height=size, width=size)
        self._renderer.update_scene(self.data, camera=self._camera, scene_option=option)
        return shrink(self._renderer.render(), self._image_size).copy()


def make_dclaw_turn(**kwargs: Any) -> DClawEnv:
    """ROBEL DClawTurnFixed: valve from 0 to pi in 40 steps (success: error < 0.1)."""
    task_keys = {"horizon", "target"}
    cfg = TaskConfig(task="turn", **{k: kwargs.pop(k) for k in list(kwargs) if k in task_keys})
    return DClawEnv(cfg, **kwargs)


def make_dclaw_screw(**kwargs: Any) -> DClawEnv:
    """ROBEL DClawScrewFixed by default (80 steps, target at 0.5 rad/s, success: error < 0.2).

    ``random_start=True`` gives ScrewRandom; ``reward="velocity", direction=+-1, horizon=200``
    (with ``valve="valve4"`` for Velp4) gives V-MAIL's DClawScrewVelp tasks.
    """
    task_keys = {"horizon", "screw_velocity", "random_start", "reward", "direction"}
    task_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in task_keys}
    task_kwargs.setdefault("horizon", 80)
    cfg = TaskConfig(task="screw", success_threshold=0.2, **task_kwargs)
    return DClawEnv(cfg, **kwargs)
