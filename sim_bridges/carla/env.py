"""``CarlaOccludedPedestrianEnv``: the occluded-pedestrian scenario on a real CARLA server.

The server runs in synchronous mode at 10 Hz (``fixed_delta_seconds = 0.1``, traffic
manager synchronous too); this client is the only one ticking. Each episode spawns the ego
(``role_name=ego_vehicle``) on a straight lane chosen from the map's spawn points, a truck
parked on the right edge, and in half of the episodes a child walker hidden in front of
the truck's nose who runs across when the ego comes within the trigger distance. A front
RGB camera (converted to the embedded scenario's mono8 format), a collision sensor and a
lane-invasion sensor ride on the ego.

Observations, state vectors, EnvInfo (except its name), rewards and terminations are the
embedded scenario's (``sim_bridges.driving``), computed in the same route frame (x along
the road, y left, ego lane centre at y = -1.75), so the same training and deployment code
runs on either.

Resources: ``close()`` destroys every actor this env spawned (``apply_batch`` of
``DestroyActor``) and restores the server's previous settings (asynchronous, or the
server freezes for other clients). It is idempotent and also runs when construction,
reset or step fails; use the env as a context manager.
"""

from __future__ import annotations

import contextlib
import math
import queue
from dataclasses import replace
from typing import Any

import numpy as np

from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE, Obs, action_space_for, observation_space_for
from sim_bridges.carla import geometry
from sim_bridges.carla.connection import DEFAULT_PORT, CarlaConnectionError, connect, server_hint
from sim_bridges.carla.image import bgra_to_mono
from sim_bridges.driving import episode
from sim_bridges.driving.config import DEFAULT_SCENARIO, DEFAULT_VEHICLE, ScenarioConfig
from sim_bridges.driving.env import action_cost, pid_agreement_bonus, scenario_info
from sim_bridges.driving.expert import expert_action
from sim_bridges.driving.observations import DISTANCE_CAP
from sim_bridges.driving.pedestrian import child_visible, make_child
from sim_bridges.driving.world import CAMERA_FORWARD, CAMERA_HEIGHT, CAMERA_PITCH_DEG

ENV_NAME = "carla_occluded_pedestrian"
SENSOR_TIMEOUT_S = 5.0
SETTLE_TICKS = 3  # physics settles the spawned vehicles before the ego gets its start speed


def horizontal_fov_deg(fovy_deg: float, width: int, height: int) -> float:
    """CARLA's camera ``fov`` is horizontal; the embedded camera's is vertical."""
    return math.degrees(2 * math.atan(math.tan(math.radians(fovy_deg) / 2) * width / height))


class CarlaOccludedPedestrianEnv:
    """One scenario instance on a CARLA server, following ``sim_bridges.api.AsymmetricEnv``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        timeout_s: float = 10.0,
        connect_attempts: int = 3,
        backoff_s: float = 1.0,
        town: str | None = None,
        tm_port: int = 8000,
        spawn_index: int | None = None,
        image_width: int = 64,
        image_height: int = 64,
        fovy: float = 70.0,
        truck_filter: str = "vehicle.carlamotors.carlacola",
        config: ScenarioConfig | None = None,
        seed: int | None = None,
        **config_overrides: Any,
    ) -> None:
        cfg = config or DEFAULT_SCENARIO
        self.cfg = replace(cfg, **config_overrides) if config_overrides else cfg
        self.vehicle = DEFAULT_VEHICLE
        self.host, self.port, self.tm_port = host, port, tm_port
        self.info = scenario_info(self.cfg, image_width, image_height, ENV_NAME)
        self.observation_space = observation_space_for(self.info)
        self.action_space = action_space_for(self.info)
        self._image_hw = (image_height, image_width)
        self._fov = horizontal_fov_deg(fovy, image_width, image_height)
        self._half_fov = math.radians(self._fov) / 2
        self._truck_filter = truck_filter
        self._rng = np.random.default_rng(seed)
        self._actors: list[Any] = []
        self._sensors: list[Any] = []
        self._original_settings: Any = None
        self._tm: Any = None
        self._closed = False
        self._needs_reset = True
        self._world: Any = None
        self._carla: Any = None
        self.client: Any = None
        self._ego: Any = None
        self._child: Any = None
        self._t, self._reached, self._since_waypoint, self._frame_id = 0, 0, 0, 0
        self._triggered = False
        try:
            import carla

            self._carla = carla
            self.client = connect(
                host, port, timeout_s=timeout_s, attempts=connect_attempts, backoff_s=backoff_s
            )
            self._world = self.client.load_world(town) if town else self.client.get_world()
            self._enter_sync_mode()
            self._map = self._world.get_map()
            self._pick_route(spawn_index)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ setup
    def _enter_sync_mode(self) -> None:
        self._original_settings = self._world.get_settings()
        settings = self._world.get_settings()
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = 1.0 / self.cfg.control_hz
        self._world.apply_settings(settings)
        self._tm = self.client.get_trafficmanager(self.tm_port)
        self._tm.set_synchronous_mode(True)

    def _lane_path(self, waypoint: Any, length: float, step: float = 2.0) -> list[geometry.Pose2D]:
        path = [waypoint]
        while len(path) * step < length + step:
            nxt = path[-1].next(step)
            if not nxt or nxt[0].is_junction:
                break
            path.append(nxt[0])
        return [(w.transform.location.x, w.transform.location.y, w.transform.rotation.yaw) for w in path]

    def _pick_route(self, spawn_index: int | None) -> None:
        """A spawn point with a straight lane ahead; fixes the route frame and lane width."""
        length = geometry.route_length_needed(self.cfg)
        spawns = self._map.get_spawn_points()
        starts = [self._map.get_waypoint(s.location) for s in spawns]
        paths = [self._lane_path(w, length) for w in starts]
        i = geometry.choose_start(paths, length, self._rng, spawn_index)
        self._start_wp = starts[i]
        x, y, yaw = paths[i][0]
        self._frame = geometry.RouteFrame(x, y, yaw, lane_y=self.cfg.lane_y)
        self._lane_width = float(self._start_wp.lane_width)
        self._waypoints_x = geometry.waypoints_along(self.cfg)

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        """Respawn everything; options may fix "child_present", "child_speed" or "truck_front_x"."""
        if self._closed:
            raise RuntimeError("the CARLA environment is closed")
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        try:
            self._destroy_actors()
            self._t, self._reached, self._since_waypoint, self._triggered = 0, 0, 0, False
            self._draw = geometry.draw_episode(self._rng, self.cfg, options)
            self._spawn_episode()
            for _ in range(SETTLE_TICKS):
                self._tick()
            ux, uy = self._frame.to_world(1.0, self.cfg.lane_y)
            ox, oy = self._frame.to_world(0.0, self.cfg.lane_y)
            v = self.cfg.start_speed
            self._ego.set_target_velocity(self._carla.Vector3D((ux - ox) * v, (uy - oy) * v, 0.0))
            self._frame_id = self._tick()
            self._events_clear()
            self._needs_reset = False
            obs = self._observe()
        except BaseException:
            self.close()
            raise
        return obs, self._info(False, False, False, False, "")

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict]:
        """Advance 0.1 s of CARLA time under [steer, pedal] (embedded conventions: steer > 0 is left)."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step() (the episode has ended)")
        cfg = self.cfg
        a = np.clip(np.asarray(action, np.float64).reshape(2), -1.0, 1.0)
        state_before = self.privileged_state()
        bonus = pid_agreement_bonus(a, expert_action(state_before, cfg, self.vehicle))
        cost = action_cost(a, cfg.action_cost)
        try:
            self._ego.apply_control(
                self._carla.VehicleControl(
                    throttle=float(max(a[1], 0.0)), brake=float(max(-a[1], 0.0)), steer=float(-a[0])
                )
            )
            self._update_child()
            self._frame_id = self._tick()
            obs = self._observe()
        except BaseException:
            self.close()
            raise
        self._t += 1
        self._since_waypoint += 1
        collided, child_hit, invaded = self._collisions()
        ego_x, ego_y = float(obs[STATE][0]), float(obs[STATE][1])
        reached = episode.advance_waypoints(self._reached, ego_x, self._waypoints_x, cfg)
        new = reached - self._reached
        self._reached = reached
        if new:
            self._since_waypoint = 0
        success = episode.is_complete(reached, ego_x, self._waypoints_x, cfg)
        next_wp = (float(self._waypoints_x[reached]), cfg.lane_y)
        far = episode.off_route(next_wp, (ego_x, ego_y), cfg)
        stalled = self._since_waypoint >= cfg.max_steps_without_waypoint
        reward, terms = episode.step_reward(bonus, cost, new, success, collided, invaded, cfg)
        why = episode.termination_reason(collided, invaded, success, far, stalled)
        terminated = bool(why)
        truncated = not terminated and self._t >= cfg.horizon
        why = "time_limit" if truncated else why
        self._needs_reset = terminated or truncated
        info = self._info(collided, child_hit, invaded, success, why)
        info["reward_terms"] = terms
        return obs, reward, terminated, truncated, info

    def render_privileged(self) -> np.ndarray:
        """A top-down RGB sketch of the route frame (ego, truck, child): CARLA has no free camera here."""
        img = np.full((160, 512, 3), 60, np.uint8)
        s = self.privileged_state()
        to_px = lambda x, y: (int(np.clip(80 - y * 10, 0, 159)), int(np.clip((x + 10) * 4, 0, 511)))
        for (x, y), colour in (((s[0], s[1]), (0, 120, 255)), ((s[5], s[6]), (200, 200, 200))):
            r, c = to_px(x, y)
            img[max(r - 3, 0) : r + 4, max(c - 6, 0) : c + 7] = colour
        if s[7] > 0.5:
            r, c = to_px(s[8], s[9])
            img[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3] = (255, 60, 60)
        return img

    def close(self) -> None:
        """Destroy this env's actors and restore the server's settings; idempotent, never raises twice."""
        if self._closed:
            return
        self._closed = True
        self._needs_reset = True
        errors: list[str] = []
        try:
            self._destroy_actors()
        except RuntimeError as exc:
            errors.append(f"destroying actors: {exc}")
        if self._world is not None and self._original_settings is not None:
            try:
                self._world.apply_settings(self._original_settings)
            except RuntimeError as exc:
                errors.append(f"restoring settings: {exc}")
        if self._tm is not None:
            try:
                self._tm.set_synchronous_mode(False)
            except RuntimeError as exc:
                errors.append(f"traffic manager: {exc}")
        self._world = self._tm = self.client = None
        if errors:
            import warnings

            warnings.warn(
                f"CARLA cleanup at {self.host}:{self.port} incomplete: {'; '.join(errors)}", stacklevel=2
            )

    def __enter__(self) -> CarlaOccludedPedestrianEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # last resort; close() is the contract
        if not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):
                self.close()

    # ------------------------------------------------------------------ episode
    def _transform(self, along: float, left: float, z: float = 0.3, yaw_offset: float = 0.0) -> Any:
        c = self._carla
        x, y = self._frame.to_world(along, left)
        base_z = self._start_wp.transform.location.z
        return c.Transform(
            c.Location(x=x, y=y, z=base_z + z), c.Rotation(yaw=self._frame.heading_deg + yaw_offset)
        )

    def _spawn(self, blueprint: Any, transform: Any, attach_to: Any = None) -> Any:
        kwargs = {"attach_to": attach_to} if attach_to is not None else {}
        actor = self._world.try_spawn_actor(blueprint, transform, **kwargs)
        if actor is None:
            raise RuntimeError(f"CARLA could not spawn {blueprint.id} at {transform} (occupied?)")
        self._actors.append(actor)
        return actor

    def _spawn_episode(self) -> None:
        c, cfg, lib = self._carla, self.cfg, self._world.get_blueprint_library()
        ego_bp = (
            lib.find("vehicle.lincoln.mkz_2020")
            if lib.filter("vehicle.lincoln.mkz_2020")
            else lib.filter("vehicle.*")[0]
        )
        ego_bp.set_attribute("role_name", "ego_vehicle")
        self._ego = self._spawn(ego_bp, self._transform(0.0, cfg.lane_y))
        truck_bps = lib.filter(self._truck_filter) or [
            b
            for b in lib.filter("vehicle.*")
            if b.has_attribute("base_type") and b.get_attribute("base_type").as_str() == "truck"
        ]
        tx, ty = geometry.truck_route_pose(cfg, self._draw.truck_front_x, self._lane_width)
        self._truck = self._spawn(truck_bps[0], self._transform(tx, ty))
        if self._draw.child_present:
            kids = [
                b
                for b in lib.filter("walker.pedestrian.*")
                if b.has_attribute("age") and b.get_attribute("age").as_str() == "child"
            ]
            if not kids:
                raise RuntimeError("this CARLA version has no walker blueprint with age=child")
            kid = kids[int(self._rng.integers(len(kids)))]
            if kid.has_attribute("is_invincible"):
                kid.set_attribute("is_invincible", "false")
            cx, cy = geometry.child_route_start(cfg, self._draw.truck_front_x, self._lane_width)
            self._child = self._spawn(kid, self._transform(cx, cy, z=1.0, yaw_offset=-90.0))
        self._child_end_y = geometry.child_route_end_y(cfg, self._lane_width)
        cam = lib.find("sensor.camera.rgb")
        cam.set_attribute("image_size_x", str(self._image_hw[1]))
        cam.set_attribute("image_size_y", str(self._image_hw[0]))
        cam.set_attribute("fov", f"{self._fov:.3f}")
        cam_tf = c.Transform(
            c.Location(x=CAMERA_FORWARD, z=CAMERA_HEIGHT), c.Rotation(pitch=-CAMERA_PITCH_DEG)
        )
        self._images: queue.Queue = queue.Queue()
        self._collisions_q: queue.Queue = queue.Queue()
        self._invasions_q: queue.Queue = queue.Queue()
        for bp_id, tf, q in (
            ("sensor.camera.rgb", cam_tf, self._images),
            ("sensor.other.collision", c.Transform(), self._collisions_q),
            ("sensor.other.lane_invasion", c.Transform(), self._invasions_q),
        ):
            sensor = self._spawn(
                cam if bp_id == "sensor.camera.rgb" else lib.find(bp_id), tf, attach_to=self._ego
            )
            sensor.listen(q.put)
            self._sensors.append(sensor)

    def _update_child(self) -> None:
        """Start the child at the trigger distance; stop it on the far sidewalk."""
        if self._child is None:
            return
        s = self.privileged_state()
        nose = float(s[0]) + 0.5 * self.vehicle.length * math.cos(float(s[2]))
        if not self._triggered and geometry.trigger_reached(float(s[8]), nose, self.cfg):
            self._triggered = True
        lx, ly = self._frame.left_vector_world()
        speed = self._draw.child_speed if self._triggered and float(s[9]) < self._child_end_y else 0.0
        self._child.apply_control(
            self._carla.WalkerControl(direction=self._carla.Vector3D(lx, ly, 0.0), speed=float(speed))
        )

    def _tick(self) -> int:
        try:
            return int(self._world.tick())
        except RuntimeError as exc:
            raise CarlaConnectionError(
                f"the CARLA server at {self.host}:{self.port} stopped answering during world.tick() ({exc}); "
                f"the environment was closed. {server_hint(self.host, self.port)}"
            ) from exc

    def _events_clear(self) -> None:
        for q in (self._collisions_q, self._invasions_q):
            while not q.empty():
                q.get_nowait()

    def _collisions(self) -> tuple[bool, bool, bool]:
        collided = child_hit = invaded = False
        while not self._collisions_q.empty():
            event = self._collisions_q.get_nowait()
            collided = True
            child_hit |= self._child is not None and event.other_actor.id == self._child.id
        while not self._invasions_q.empty():
            self._invasions_q.get_nowait()
            invaded = True
        return collided, child_hit, invaded

    def _destroy_actors(self) -> None:
        for sensor in self._sensors:
            with contextlib.suppress(RuntimeError):
                sensor.stop()
        actors, self._actors, self._sensors = self._actors, [], []
        self._ego = self._child = None
        if actors and self.client is not None and self._carla is not None:
            self.client.apply_batch([self._carla.command.DestroyActor(a) for a in reversed(actors)])

    # ------------------------------------------------------------------ views
    def _camera_frame(self) -> np.ndarray:
        """The camera image of the frame just ticked (older ones dropped)."""
        while True:
            try:
                image = self._images.get(timeout=SENSOR_TIMEOUT_S)
            except queue.Empty:
                raise CarlaConnectionError(
                    f"no camera image for frame {self._frame_id} from {self.host}:{self.port} within "
                    f"{SENSOR_TIMEOUT_S} s"
                ) from None
            if image.frame >= self._frame_id:
                return bgra_to_mono(image.raw_data, image.height, image.width, self._image_hw)

    def _ego_route(self) -> tuple[float, float, float, float, float]:
        tf, vel = self._ego.get_transform(), self._ego.get_velocity()
        x, y = self._frame.to_route(tf.location.x, tf.location.y)
        wheels = self._carla.VehicleWheelLocation
        steer = 0.5 * (
            self._ego.get_wheel_steer_angle(wheels.FL_Wheel)
            + self._ego.get_wheel_steer_angle(wheels.FR_Wheel)
        )
        speed = math.hypot(vel.x, vel.y)
        return x, y, self._frame.yaw_to_route(tf.rotation.yaw), speed, -math.radians(steer)

    def _truck_route(self) -> tuple[float, float]:
        loc = self._truck.get_transform().location
        return self._frame.to_route(loc.x, loc.y)

    def _child_route(self) -> tuple[float, float, float, float]:
        loc, vel = self._child.get_transform().location, self._child.get_velocity()
        return (*self._frame.to_route(loc.x, loc.y), *self._frame.vector_to_route(vel.x, vel.y))

    def privileged_state(self) -> np.ndarray:
        """The ``state`` vector, embedded layout ``STATE_NAMES`` in the route frame."""
        ex, ey, eyaw, espeed, esteer = self._ego_route()
        tx, ty = self._truck_route()
        if self._child is not None:
            cx, cy, cvx, cvy = self._child_route()
            child_part = (1.0, cx, cy, cvx, cvy, math.hypot(cx - ex, cy - ey))
        else:
            child_part = (0.0, 0.0, 0.0, 0.0, 0.0, DISTANCE_CAP)
        progress = min(1.0, max(0.0, ex / self.cfg.route_length))
        return np.asarray((ex, ey, eyaw, espeed, esteer, tx, ty, *child_part, progress), np.float32)

    def child_visible(self) -> bool:
        """Line of sight from the camera to the child past the truck (the embedded test, route frame)."""
        if self._child is None:
            return False
        ex, ey, eyaw, *_ = self._ego_route()
        tx, ty = self._truck_route()
        cx, cy, _, cvy = self._child_route()
        box = geometry.truck_box(tx, ty, self.cfg.truck_length, self.cfg.truck_width)
        cam = (ex + CAMERA_FORWARD * math.cos(eyaw), ey + CAMERA_FORWARD * math.sin(eyaw))
        child = make_child(True, abs(cvy), self._draw.truck_front_x, self.cfg)
        child.x, child.y = cx, cy
        return child_visible(child, cam, eyaw, self._half_fov, box)

    def partial_state(self) -> np.ndarray:
        """The ``partial_state`` vector: the child's entries only while the camera can see it."""
        s = self.privileged_state()
        child = (1.0, *s[8:12]) if self.child_visible() else (0.0, 0.0, 0.0, 0.0, 0.0)
        return np.asarray((*s[:7], *child), np.float32)

    def _observe(self) -> Obs:
        return {
            IMAGE: self._camera_frame(),
            STATE: self.privileged_state(),
            PARTIAL_STATE: self.partial_state(),
        }

    def _info(self, collided: bool, child_hit: bool, invaded: bool, success: bool, why: str) -> dict:
        return {
            "collision": bool(collided),
            "child_collision": bool(child_hit),
            "lane_invasion": bool(invaded),
            "waypoints_reached": int(self._reached),
            "waypoint_fraction": self._reached / self.cfg.num_waypoints,
            "success": bool(success),
            "child_present": bool(self._child is not None),
            "child_triggered": bool(self._triggered),
            "child_visible": self.child_visible(),
            "termination": why,
            "t": self._t,
        }


def make_carla_occluded_pedestrian(**kwargs: Any) -> CarlaOccludedPedestrianEnv:
    """Registry factory; host/port default to CARLA_HOST / CARLA_PORT when set."""
    import os

    kwargs.setdefault("host", os.environ.get("CARLA_HOST", "127.0.0.1"))
    kwargs.setdefault("port", int(os.environ.get("CARLA_PORT", DEFAULT_PORT)))
    return CarlaOccludedPedestrianEnv(**kwargs)
