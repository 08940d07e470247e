"""``OccludedPedestrianEnv``: the A2D autonomous-driving scenario as an embedded MuJoCo simulation.

A straight two-lane road, a truck parked on the right shoulder and, in half of the
episodes, a child hidden in front of the truck's nose who runs across the ego lane when
the ego's nose comes within the trigger distance. The expert sees the privileged state;
the trainee sees a 64x64 grayscale front camera and cannot know whether a child is there
until it steps out. Numbers are in ``config.py``; the vector layouts in ``observations.py``.

Step (10 Hz): action ``[steer, pedal]`` in [-1, 1] (steer > 0 turns left; pedal > 0
throttle, < 0 brake) -> bicycle model for 0.1 s -> child moves / triggers -> MuJoCo places
the mocap bodies, measures collision distances and renders the camera.

Reward per step (unscaled, as in the reference): PID-agreement bonus
``(1 - |d_pedal|/2) * (1 - |d_steer|/2)^2`` against ``expert_action`` on the state before
the step, +1 per new waypoint, +10 on completion, -1 on collision, -1 on lane invasion,
``-0.025 * sum(log(1 + |a_i|))``. Terminated on collision (child or truck), lane invasion
(a corner of the car across the centre line or the right edge line), completion, being
>= 12 m from the next waypoint, or 35 steps without a new waypoint; truncated at 90 steps.

``render_images=False`` skips the camera (the image is all zeros) for fast state-only
evaluation; everything else, rewards included, is unchanged.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import mujoco
import numpy as np

from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE, EnvInfo, Obs, action_space_for, observation_space_for
from sim_bridges.driving import episode
from sim_bridges.driving.camera import SceneCameras
from sim_bridges.driving.config import DEFAULT_SCENARIO, DEFAULT_VEHICLE, ScenarioConfig, VehicleParams
from sim_bridges.driving.expert import expert_action
from sim_bridges.driving.observations import DISTANCE_CAP, PARTIAL_STATE_NAMES, STATE_NAMES
from sim_bridges.driving.pedestrian import ChildState, advance_child, child_visible, make_child
from sim_bridges.driving.vehicle import VehicleState, footprint, nose_x, step_vehicle
from sim_bridges.driving.world import (
    CAMERA_FORWARD,
    CHILD_COLLISION_GEOM,
    EGO_COLLISION_GEOM,
    TRUCK_COLLISION_GEOMS,
    build_mjcf,
)

ACTION_NAMES = ("steer", "throttle_brake")
HIDDEN_Z = -20.0  # where an absent child is parked, under the ground

# Mean unscaled returns of the scripted drivers over 200 seeded episodes (benchmarks/driving_baselines.py):
# the privileged expert (MDP reference), the camera-realistic cautious driver that stops for a child it
# sees (POMDP reference), and the blind drivers (what imitating the expert without the child looks like).
# The paper's CARLA scenario reports optimal MDP ~70 and POMDP ~65 on the same reward definition.
REFERENCE_RETURNS: dict[str, float] = {
    "mdp_expert": 71.5,
    "pomdp_reactive_cautious": 70.7,
    "blind_cautious": 56.0,
    "blind_fast": 41.6,
}


def scenario_info(cfg: ScenarioConfig, image_width: int, image_height: int, name: str) -> EnvInfo:
    """The scenario's EnvInfo; the CARLA backend shares it so the same policies run on both."""
    return EnvInfo(
        name=name,
        image_encoding="mono8",
        image_shape=(image_height, image_width, 1),
        state_dim=len(STATE_NAMES),
        partial_state_dim=len(PARTIAL_STATE_NAMES),
        discrete_actions=None,
        action_dim=2,
        action_low=(-1.0, -1.0),
        action_high=(1.0, 1.0),
        action_names=ACTION_NAMES,
        control_rate_hz=cfg.control_hz,
        horizon=cfg.horizon,
        reference_returns=dict(REFERENCE_RETURNS),
    )


def pid_agreement_bonus(action: np.ndarray, reference: np.ndarray) -> float:
    """The reference's expert bonus in [0, 1]; pedal agreement counts once, steering squared."""
    d_steer = abs(float(reference[0]) - float(action[0]))
    d_pedal = abs(float(reference[1]) - float(action[1]))
    return (1.0 - d_pedal / 2.0) * (1.0 - d_steer / 2.0) ** 2


def action_cost(action: np.ndarray, weight: float) -> float:
    """The reference's small action penalty weight * sum(log(1 + |a_i|))."""
    return weight * float(np.sum(np.log1p(np.abs(action))))


class OccludedPedestrianEnv:
    """One scenario instance following ``sim_bridges.api.AsymmetricEnv``."""

    def __init__(
        self,
        *,
        image_width: int = 64,
        image_height: int = 64,
        fovy: float = 70.0,
        render_images: bool = True,
        config: ScenarioConfig | None = None,
        vehicle: VehicleParams | None = None,
        top_view_size: tuple[int, int] = (512, 160),
        **config_overrides: Any,
    ) -> None:
        cfg = config or DEFAULT_SCENARIO
        if config_overrides:
            cfg = replace(cfg, **config_overrides)
        self.cfg = cfg
        self.vehicle = vehicle or DEFAULT_VEHICLE
        self.render_images = render_images
        self.image_shape = (image_height, image_width, 1)
        aspect = image_width / image_height
        self.half_fov_x = math.atan(math.tan(math.radians(fovy) / 2.0) * aspect)
        self.info = scenario_info(cfg, image_width, image_height, "occluded_pedestrian")
        self.observation_space = observation_space_for(self.info)
        self.action_space = action_space_for(self.info)

        xml = build_mjcf(cfg, self.vehicle, (image_width, image_height), fovy, top_view_size)
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        body = lambda name: mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)
        geom = lambda name: mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, name)
        self._mocap = {name: int(self.model.body_mocapid[body(name)]) for name in ("ego", "truck", "child")}
        self._ego_geom = geom(EGO_COLLISION_GEOM)
        self._child_geom = geom(CHILD_COLLISION_GEOM)
        self._truck_geoms = [geom(name) for name in TRUCK_COLLISION_GEOMS]
        self._cameras: SceneCameras | None = SceneCameras(
            self.model, (image_width, image_height), top_view_size
        )
        self._blank = np.zeros(self.image_shape, np.uint8)
        self._waypoints_x = np.arange(1, cfg.num_waypoints + 2) * cfg.waypoint_spacing  # last = goal
        self._rng = np.random.default_rng()
        self._needs_reset = True
        # Episode state, set properly by reset().
        self._ego = VehicleState()
        self._truck_front_x = cfg.truck_front_x
        self._child = make_child(False, 0.0, cfg.truck_front_x, cfg)
        self._t = 0
        self._reached = 0
        self._since_waypoint = 0

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        """Start an episode; options may fix "child_present", "child_speed" or "truck_front_x"."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        cfg, options = self.cfg, options or {}
        # Always draw the same numbers in the same order, so one option does not shift the others.
        u = self._rng.random(5)
        truck_front_x = cfg.truck_front_x + cfg.truck_x_jitter * (2.0 * u[0] - 1.0)
        present = bool(u[1] < cfg.child_present_prob)
        speed = cfg.child_speed_low + (cfg.child_speed_high - cfg.child_speed_low) * u[2]
        start_y = cfg.lane_y + cfg.start_y_jitter * (2.0 * u[3] - 1.0)
        start_yaw = cfg.start_yaw_jitter * (2.0 * u[4] - 1.0)
        truck_front_x = float(options.get("truck_front_x", truck_front_x))
        present = bool(options.get("child_present", present))
        speed = float(options.get("child_speed", speed))

        self._truck_front_x = truck_front_x
        self._ego = VehicleState(0.0, start_y, start_yaw, cfg.start_speed, 0.0)
        self._child = make_child(present, speed, truck_front_x, cfg)
        self._t = 0
        self._reached = 0
        self._since_waypoint = 0
        self._needs_reset = False
        self._sync_world()
        return self._observe(), self._info(
            collided=False, child_hit=False, invaded=False, success=False, why=""
        )

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict]:
        """Advance 0.1 s under [steer, pedal]; see the module docstring for rewards and endings."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step() (the episode has ended)")
        cfg = self.cfg
        a = np.clip(np.nan_to_num(np.asarray(action, np.float64).reshape(2)), -1.0, 1.0)
        reference = expert_action(self.privileged_state(), cfg, self.vehicle)
        bonus = pid_agreement_bonus(a, reference)
        cost = action_cost(a, cfg.action_cost)

        self._ego = step_vehicle(self._ego, a[0], a[1], cfg.dt, self.vehicle)
        advance_child(self._child, nose_x(self._ego, self.vehicle), cfg.dt, cfg)
        self._t += 1
        self._since_waypoint += 1
        self._sync_world()

        child_hit = self._child.present and self._touching(self._child_geom)
        truck_hit = any(self._touching(g) for g in self._truck_geoms)
        collided = child_hit or truck_hit
        invaded = self._lane_invasion()
        reached = episode.advance_waypoints(self._reached, self._ego.x, self._waypoints_x, cfg)
        new_waypoints, self._reached = reached - self._reached, reached
        if new_waypoints:
            self._since_waypoint = 0
        success = episode.is_complete(self._reached, self._ego.x, self._waypoints_x, cfg) and not collided
        next_waypoint = (float(self._waypoints_x[self._reached]), cfg.lane_y)
        far = episode.off_route(next_waypoint, (self._ego.x, self._ego.y), cfg)
        stalled = self._since_waypoint >= cfg.max_steps_without_waypoint

        reward, terms = episode.step_reward(bonus, cost, new_waypoints, success, collided, invaded, cfg)
        why = episode.termination_reason(collided, invaded, success, far, stalled)
        terminated = bool(why)
        truncated = not terminated and self._t >= cfg.horizon
        if truncated:
            why = "time_limit"
        self._needs_reset = terminated or truncated
        info = self._info(collided=collided, child_hit=child_hit, invaded=invaded, success=success, why=why)
        info["reward_terms"] = terms
        return self._observe(), float(reward), terminated, truncated, info

    def render_privileged(self) -> np.ndarray:
        """Top-down RGB uint8 view of the whole scene, the child shown even when hidden (docs only)."""
        return self._cams().top_rgb(self.data)

    def render_front_rgb(self) -> np.ndarray:
        """The front camera in colour (docs only; the observation is its grayscale version)."""
        return self._cams().front_rgb(self.data)

    def close(self) -> None:
        """Release the OpenGL contexts."""
        if self._cameras is not None:
            self._cameras.close()
            self._cameras = None

    # -------------------------------------------------------------- views
    def privileged_state(self) -> np.ndarray:
        """The ``state`` vector (layout ``STATE_NAMES``)."""
        ego, child, cfg = self._ego, self._child, self.cfg
        truck_x = self._truck_front_x - 0.5 * cfg.truck_length
        if child.present:
            dist = math.hypot(child.x - ego.x, child.y - ego.y)
            child_part = (1.0, child.x, child.y, 0.0, child.vy, dist)
        else:
            child_part = (0.0, 0.0, 0.0, 0.0, 0.0, DISTANCE_CAP)
        progress = min(1.0, max(0.0, ego.x / cfg.route_length))
        values = (
            ego.x,
            ego.y,
            ego.yaw,
            ego.speed,
            ego.steer_angle,
            truck_x,
            cfg.truck_y,
            *child_part,
            progress,
        )
        return np.asarray(values, np.float32)

    def partial_state(self) -> np.ndarray:
        """The ``partial_state`` vector (layout ``PARTIAL_STATE_NAMES``): the child only while visible."""
        ego, child, cfg = self._ego, self._child, self.cfg
        truck_x = self._truck_front_x - 0.5 * cfg.truck_length
        seen = self.child_visible()
        child_part = (1.0, child.x, child.y, 0.0, child.vy) if seen else (0.0, 0.0, 0.0, 0.0, 0.0)
        values = (ego.x, ego.y, ego.yaw, ego.speed, ego.steer_angle, truck_x, cfg.truck_y, *child_part)
        return np.asarray(values, np.float32)

    def child_visible(self) -> bool:
        """Whether the front camera has a line of sight to the child (truck as the occluder)."""
        ego, cfg = self._ego, self.cfg
        cam = (ego.x + CAMERA_FORWARD * math.cos(ego.yaw), ego.y + CAMERA_FORWARD * math.sin(ego.yaw))
        tx0 = self._truck_front_x - cfg.truck_length
        box = (
            tx0,
            self._truck_front_x,
            cfg.truck_y - 0.5 * cfg.truck_width,
            cfg.truck_y + 0.5 * cfg.truck_width,
        )
        return child_visible(self._child, cam, ego.yaw, self.half_fov_x, box)

    @property
    def child(self) -> ChildState:
        """The child's current state (read-only use: tests and benchmarks)."""
        return self._child

    @property
    def ego(self) -> VehicleState:
        """The ego car's current state (read-only use: tests and benchmarks)."""
        return self._ego

    # ------------------------------------------------------------ internals
    def _cams(self) -> SceneCameras:
        if self._cameras is None:
            raise RuntimeError("the environment is closed")
        return self._cameras

    def _sync_world(self) -> None:
        """Write the poses to the mocap bodies and let MuJoCo place every geom."""
        d, ego, child = self.data, self._ego, self._child
        d.mocap_pos[self._mocap["ego"]] = (ego.x, ego.y, 0.0)
        d.mocap_quat[self._mocap["ego"]] = (math.cos(ego.yaw / 2), 0.0, 0.0, math.sin(ego.yaw / 2))
        d.mocap_pos[self._mocap["truck"]] = (
            self._truck_front_x - 0.5 * self.cfg.truck_length,
            self.cfg.truck_y,
            0,
        )
        if child.present:
            d.mocap_pos[self._mocap["child"]] = (child.x, child.y, 0.0)
        else:
            d.mocap_pos[self._mocap["child"]] = (child.x, 0.0, HIDDEN_Z)
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_camlight(self.model, d)

    def _touching(self, other_geom: int) -> bool:
        return mujoco.mj_geomDistance(self.model, self.data, self._ego_geom, other_geom, 0.5, None) <= 0.0

    def _lane_invasion(self) -> bool:
        """A corner of the car across the centre line or the right edge line."""
        return any(y > 0.0 or y < -self.cfg.lane_width for _, y in footprint(self._ego, self.vehicle))

    def _observe(self) -> Obs:
        image = self._cams().front_mono(self.data) if self.render_images else self._blank.copy()
        return {IMAGE: image, STATE: self.privileged_state(), PARTIAL_STATE: self.partial_state()}

    def _info(self, *, collided: bool, child_hit: bool, invaded: bool, success: bool, why: str) -> dict:
        return {
            "collision": bool(collided),
            "child_collision": bool(child_hit),
            "lane_invasion": bool(invaded),
            "waypoints_reached": int(self._reached),
            "waypoint_fraction": self._reached / self.cfg.num_waypoints,
            "success": bool(success),
            "child_present": bool(self._child.present),
            "child_triggered": bool(self._child.triggered),
            "child_visible": self.child_visible(),
            "termination": why,
            "t": self._t,
        }
