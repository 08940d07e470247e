"""The CARLA scenario without a server: pure geometry/trigger/episode logic, then the env on a fake client.

The fake ``carla`` module below implements only the calls the env makes, with trivial
kinematics; it checks the env's wiring (frames, layouts, cleanup, error paths), not CARLA.
"""

from __future__ import annotations

import fnmatch
import math
import sys
import types
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE, AsymmetricEnv
from sim_bridges.carla import geometry
from sim_bridges.carla.connection import CarlaConnectionError
from sim_bridges.carla.image import bgra_to_mono
from sim_bridges.driving import episode
from sim_bridges.driving.config import DEFAULT_SCENARIO as CFG
from sim_bridges.driving.observations import STATE_NAMES

# ----------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize("heading", [0.0, 90.0, -135.0, 30.0])
def test_route_frame_round_trip_and_handedness(heading: float) -> None:
    f = geometry.RouteFrame(10.0, -5.0, heading, lane_y=CFG.lane_y)
    assert f.to_route(10.0, -5.0) == pytest.approx((0.0, CFG.lane_y))
    x, y = f.to_world(12.0, 3.0)
    assert f.to_route(x, y) == pytest.approx((12.0, 3.0))
    # CARLA's y axis points right: a point to the route's left has a smaller CARLA "right" coordinate.
    lx, ly = f.left_vector_world()
    right = (-math.sin(math.radians(heading)), math.cos(math.radians(heading)))
    assert lx * right[0] + ly * right[1] == pytest.approx(-1.0)
    assert f.yaw_to_route(heading) == pytest.approx(0.0)
    assert f.yaw_to_route(heading + 10.0) == pytest.approx(-math.radians(10.0))  # CARLA yaw+ is a right turn


def _path(heading: float, length: float, bend_after: float | None = None) -> list[geometry.Pose2D]:
    pts, x, y, h = [], 0.0, 0.0, heading
    for i in range(int(length / 2) + 1):
        if bend_after is not None and i * 2 > bend_after:
            h += 5.0
        pts.append((x, y, h))
        x += 2 * math.cos(math.radians(h))
        y += 2 * math.sin(math.radians(h))
    return pts


def test_straight_segment_choice() -> None:
    need = geometry.route_length_needed(CFG)
    assert need > CFG.route_length
    paths = [
        _path(0.0, 30.0),
        _path(45.0, need + 4),
        _path(0.0, need + 4, bend_after=20.0),
        _path(-90, need + 4),
    ]
    assert geometry.is_straight(paths[1], need) and not geometry.is_straight(paths[0], need)
    assert not geometry.is_straight(paths[2], need)
    rng = np.random.default_rng(0)
    picks = {geometry.choose_start(paths, need, rng) for _ in range(30)}
    assert picks == {1, 3}
    assert geometry.choose_start(paths, need, rng, preferred=3) == 3
    with pytest.raises(ValueError, match="spawn point 0"):
        geometry.choose_start(paths, need, rng, preferred=0)
    with pytest.raises(ValueError, match="no spawn point"):
        geometry.choose_start(paths[:1], need, rng)


def test_placement_matches_embedded_layout_for_a_standard_lane() -> None:
    tx, ty = geometry.truck_route_pose(CFG, CFG.truck_front_x, CFG.lane_width)
    assert (tx, ty) == pytest.approx((CFG.truck_front_x - CFG.truck_length / 2, CFG.truck_y))
    cx, cy = geometry.child_route_start(CFG, CFG.truck_front_x, CFG.lane_width)
    assert (cx, cy) == pytest.approx((CFG.truck_front_x + CFG.child_gap, CFG.child_start_y))
    assert geometry.child_route_end_y(CFG, CFG.lane_width) == pytest.approx(CFG.child_end_y)
    # A narrower CARLA lane keeps the truck's inner side on its edge line and the child behind the truck.
    _, ty3 = geometry.truck_route_pose(CFG, CFG.truck_front_x, 3.0)
    assert ty3 + CFG.truck_width / 2 == pytest.approx(CFG.lane_y - 1.5 + 0.03)
    _, cy3 = geometry.child_route_start(CFG, CFG.truck_front_x, 3.0)
    assert ty3 - CFG.truck_width / 2 < cy3 < ty3 + CFG.truck_width / 2


def test_trigger_distance() -> None:
    child_x = CFG.truck_front_x + CFG.child_gap
    assert not geometry.trigger_reached(child_x, child_x - CFG.trigger_distance - 0.01, CFG)
    assert geometry.trigger_reached(child_x, child_x - CFG.trigger_distance, CFG)
    assert geometry.trigger_reached(child_x, child_x + 3.0, CFG)


def test_episode_draws_match_embedded_ranges_and_options() -> None:
    rng = np.random.default_rng(1)
    draws = [geometry.draw_episode(rng, CFG) for _ in range(2000)]
    present = np.mean([d.child_present for d in draws])
    assert 0.45 < present < 0.55
    speeds = np.array([d.child_speed for d in draws])
    assert speeds.min() >= CFG.child_speed_low and speeds.max() <= CFG.child_speed_high
    assert speeds.std() > 0.2  # randomised, not constant
    trucks = np.array([d.truck_front_x for d in draws])
    assert np.all(np.abs(trucks - CFG.truck_front_x) <= CFG.truck_x_jitter)
    fixed = geometry.draw_episode(
        rng, CFG, {"child_present": True, "child_speed": 2.0, "truck_front_x": 30.0}
    )
    assert fixed == geometry.EpisodeDraw(30.0, True, 2.0)


def test_waypoint_progress_reward_and_termination() -> None:
    wx = geometry.waypoints_along(CFG)
    assert len(wx) == CFG.num_waypoints + 1 and wx[-1] == pytest.approx(CFG.route_length)
    assert episode.advance_waypoints(0, wx[2] + 0.1, wx, CFG) == 3
    assert episode.advance_waypoints(3, wx[1], wx, CFG) == 3  # never decreases
    done = episode.advance_waypoints(0, CFG.route_length + 1, wx, CFG)
    assert done == CFG.num_waypoints and episode.is_complete(done, CFG.route_length + 1, wx, CFG)
    assert episode.off_route((10.0, CFG.lane_y), (10.0 - 12.0, CFG.lane_y), CFG)
    assert not episode.off_route((10.0, CFG.lane_y), (0.0, CFG.lane_y), CFG)
    r, terms = episode.step_reward(0.8, 0.01, 2, True, True, False, CFG)
    assert r == pytest.approx(0.8 - 0.01 + 2 + 10 - 1)
    assert set(terms) == {"pid_bonus", "waypoints", "completion", "collision", "lane_invasion", "action_cost"}
    assert episode.termination_reason(False, True, True, False, False) == "lane_invasion"
    assert episode.termination_reason(False, False, False, False, True) == "waypoint_timeout"
    assert episode.termination_reason(False, False, False, False, False) == ""


def test_bgra_to_mono_matches_embedded_luma() -> None:
    from sim_bridges.driving.camera import rgb_to_mono

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)
    bgra = np.concatenate([rgb[..., ::-1], np.full((8, 12, 1), 255, np.uint8)], axis=2)
    mono = bgra_to_mono(bgra.tobytes(), 8, 12)
    assert mono.shape == (8, 12, 1) and mono.dtype == np.uint8
    np.testing.assert_array_equal(mono, rgb_to_mono(rgb))
    assert bgra_to_mono(bgra.tobytes(), 8, 12, (4, 6)).shape == (4, 6, 1)


# ----------------------------------------------------------------------------- fake CARLA


class _V:
    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> None:
        self.x, self.y, self.z = x, y, z


class _Rot:
    def __init__(self, pitch: float = 0.0, yaw: float = 0.0, roll: float = 0.0) -> None:
        self.pitch, self.yaw, self.roll = pitch, yaw, roll


class _Tf:
    def __init__(self, location: _V | None = None, rotation: _Rot | None = None) -> None:
        self.location, self.rotation = location or _V(), rotation or _Rot()


class _Attr:
    def __init__(self, v: str) -> None:
        self.v = v

    def as_str(self) -> str:
        return self.v


class _BP:
    def __init__(self, bp_id: str, **attrs: str) -> None:
        self.id, self.attrs = bp_id, dict(attrs)

    def has_attribute(self, k: str) -> bool:
        return k in self.attrs

    def get_attribute(self, k: str) -> _Attr:
        return _Attr(self.attrs[k])

    def set_attribute(self, k: str, v: str) -> None:
        self.attrs[k] = v


class _Lib:
    def __init__(self) -> None:
        self.bps = [
            _BP("vehicle.lincoln.mkz_2020", base_type="car"),
            _BP("vehicle.carlamotors.carlacola", base_type="truck"),
            _BP("walker.pedestrian.0001", age="adult"),
            _BP("walker.pedestrian.0011", age="child", is_invincible="true"),
            _BP("sensor.camera.rgb"),
            _BP("sensor.other.collision"),
            _BP("sensor.other.lane_invasion"),
        ]

    def find(self, bp_id: str) -> _BP:
        return next(b for b in self.bps if b.id == bp_id)

    def filter(self, pattern: str) -> list[_BP]:
        return [b for b in self.bps if fnmatch.fnmatch(b.id, pattern)]


class _Actor:
    _next = 100

    def __init__(self, world: _World, bp: _BP, tf: _Tf, parent: _Actor | None) -> None:
        _Actor._next += 1
        self.id, self.bp, self.tf, self.parent, self.world = _Actor._next, bp, tf, parent, world
        self.vel, self.control, self.callback = _V(), None, None

    def get_transform(self) -> _Tf:
        return self.tf

    def get_velocity(self) -> _V:
        return self.vel

    def set_target_velocity(self, v: _V) -> None:
        self.vel = v

    def apply_control(self, control: Any) -> None:
        self.control = control

    def get_wheel_steer_angle(self, wheel: int) -> float:
        return -20.0 * (self.control.steer if self.control is not None else 0.0)  # degrees, right positive

    def listen(self, callback: Any) -> None:
        self.callback = callback

    def stop(self) -> None:
        self.callback = None


class _World:
    def __init__(self, server: _Server) -> None:
        self.server, self.frame = server, 0
        self.settings = types.SimpleNamespace(synchronous_mode=False, fixed_delta_seconds=None)
        self.actors: dict[int, _Actor] = {}

    def _alive(self) -> None:
        if self.server.dead:
            raise RuntimeError("time-out of 1000ms while waiting for the simulator")

    def get_settings(self) -> Any:
        return types.SimpleNamespace(**vars(self.settings))

    def apply_settings(self, s: Any) -> None:
        self._alive()
        self.settings = types.SimpleNamespace(**vars(s))

    def get_map(self) -> _Map:
        return _Map()

    def get_blueprint_library(self) -> _Lib:
        return _Lib()

    def try_spawn_actor(self, bp: _BP, tf: _Tf, attach_to: _Actor | None = None) -> _Actor:
        actor = _Actor(self, bp, tf, attach_to)
        self.actors[actor.id] = actor
        return actor

    def tick(self) -> int:
        if self.server.fail_at_tick is not None and self.frame >= self.server.fail_at_tick:
            self.server.dead = self.server.dies
            raise RuntimeError("time-out of 1000ms while waiting for the simulator")
        self.frame += 1
        for a in self.actors.values():
            c = a.control
            if a.bp.id.startswith("vehicle") and c is not None:
                h = math.radians(a.tf.rotation.yaw)
                speed = max(0.0, math.hypot(a.vel.x, a.vel.y) + 0.1 * (4 * c.throttle - 8 * c.brake))
                a.vel = _V(speed * math.cos(h), speed * math.sin(h))
            if a.bp.id.startswith("walker") and c is not None:
                a.vel = _V(c.direction.x * c.speed, c.direction.y * c.speed)
            a.tf.location = _V(
                a.tf.location.x + 0.1 * a.vel.x, a.tf.location.y + 0.1 * a.vel.y, a.tf.location.z
            )
        for a in self.actors.values():
            if a.callback is not None and a.bp.id == "sensor.camera.rgb":
                w, h = int(a.bp.attrs["image_size_x"]), int(a.bp.attrs["image_size_y"])
                raw = np.full((h, w, 4), (self.frame * 7) % 256, np.uint8).tobytes()
                a.callback(types.SimpleNamespace(frame=self.frame, width=w, height=h, raw_data=raw))
        return self.frame


ROAD_HEADING = 90.0  # the fake road runs along CARLA +y, so the route frame is rotated


class _WP:
    def __init__(self, along: float) -> None:
        self.along, self.lane_width, self.is_junction = along, 3.5, False
        h = math.radians(ROAD_HEADING)
        self.transform = _Tf(
            _V(5.0 + along * math.cos(h), -20.0 + along * math.sin(h), 0.5), _Rot(yaw=ROAD_HEADING)
        )

    def next(self, d: float) -> list[_WP]:
        return [] if self.along + d > 200 else [_WP(self.along + d)]


class _Map:
    def get_spawn_points(self) -> list[_Tf]:
        return [_WP(0.0).transform, _WP(180.0).transform]  # the second has no room ahead

    def get_waypoint(self, loc: _V) -> _WP:
        return _WP(0.0 if abs(loc.y + 20.0) < 1 else 180.0)


class _Server:
    def __init__(self, fail_at_tick: int | None = None, dies: bool = False) -> None:
        self.fail_at_tick, self.dies, self.dead = fail_at_tick, dies, False
        self.world = _World(self)
        self.tm_sync: list[bool] = []
        self.destroyed: list[int] = []


def _fake_carla(server: _Server) -> types.ModuleType:
    mod = types.ModuleType("carla")

    class Client:
        def __init__(self, host: str, port: int) -> None:
            pass

        def set_timeout(self, s: float) -> None:
            pass

        def get_server_version(self) -> str:
            return "0.9.16"

        def get_client_version(self) -> str:
            return "0.9.16"

        def get_world(self) -> _World:
            return server.world

        def get_trafficmanager(self, port: int) -> Any:
            return types.SimpleNamespace(set_synchronous_mode=server.tm_sync.append)

        def apply_batch(self, commands: list[Any]) -> None:
            if server.dead:
                raise RuntimeError("time-out of 1000ms while waiting for the simulator")
            for _, actor in commands:
                server.destroyed.append(actor.id)
                server.world.actors.pop(actor.id)

    mod.Client = Client
    mod.Vector3D = mod.Location = _V
    mod.Rotation, mod.Transform = _Rot, _Tf
    mod.VehicleControl = lambda **kw: types.SimpleNamespace(**kw)
    mod.WalkerControl = lambda **kw: types.SimpleNamespace(**kw)
    mod.VehicleWheelLocation = types.SimpleNamespace(FL_Wheel=0, FR_Wheel=1)
    mod.command = types.SimpleNamespace(DestroyActor=lambda a: ("destroy", a))
    return mod


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Any:
    def make(**kwargs: Any) -> _Server:
        server = _Server(**kwargs)
        monkeypatch.setitem(sys.modules, "carla", _fake_carla(server))
        return server

    return make


def test_env_on_fake_server_layout_frames_and_cleanup(fake_server: Any) -> None:
    from sim_bridges.carla.env import CarlaOccludedPedestrianEnv
    from sim_bridges.driving.env import OccludedPedestrianEnv

    server = fake_server()
    with CarlaOccludedPedestrianEnv(seed=0) as env:
        assert isinstance(env, AsymmetricEnv)
        embedded = OccludedPedestrianEnv(render_images=False)
        assert replace(env.info, name=embedded.info.name) == embedded.info
        embedded.close()
        assert server.world.settings.synchronous_mode and server.world.settings.fixed_delta_seconds == 0.1
        assert server.tm_sync == [True]
        obs, info = env.reset(options={"child_present": True, "child_speed": 2.0})
        assert env.observation_space.contains(obs)
        assert obs[IMAGE].shape == (64, 64, 1) and obs[IMAGE].dtype == np.uint8
        s = obs[STATE]
        assert s.shape == (len(STATE_NAMES),)
        assert s[0] == pytest.approx(0.0, abs=1.0) and s[1] == pytest.approx(CFG.lane_y, abs=1e-4)
        assert s[2] == pytest.approx(0.0, abs=1e-6) and s[3] == pytest.approx(CFG.start_speed)
        assert s[7] == 1.0 and s[9] == pytest.approx(CFG.child_start_y, abs=1e-4)
        roles = [a.bp.attrs.get("role_name") for a in server.world.actors.values()]
        assert "ego_vehicle" in roles and len(server.world.actors) == 6  # ego, truck, child, 3 sensors
        child = next(a for a in server.world.actors.values() if a.bp.id.startswith("walker"))
        assert child.bp.attrs["age"] == "child" and child.bp.attrs["is_invincible"] == "false"
        total, steps = 0.0, 0
        for _ in range(CFG.horizon):
            obs, r, term, trunc, info = env.step([0.0, 0.5])
            total, steps = total + r, steps + 1
            if term or trunc:
                break
        assert info["child_triggered"] and obs[STATE][11] > 0  # the child runs to the left (+y)
        assert info["waypoints_reached"] > 0 and np.isfinite(total)
        assert set(info["reward_terms"]) >= {"pid_bonus", "waypoints"}
        assert obs[PARTIAL_STATE].shape == (env.info.partial_state_dim,)
        env.reset(options={"child_present": False})
        assert len(server.world.actors) == 5 and env.privileged_state()[12] == pytest.approx(50.0)
    assert server.world.actors == {}
    assert server.world.settings.synchronous_mode is False and server.tm_sync == [True, False]
    env.close()  # idempotent


def test_server_lost_mid_episode_gives_clear_error_and_releases(fake_server: Any) -> None:
    from sim_bridges.carla.env import CarlaOccludedPedestrianEnv

    server = fake_server(fail_at_tick=6)
    env = CarlaOccludedPedestrianEnv(host="10.9.8.7", port=2345, seed=0)
    env.reset(options={"child_present": False})
    with pytest.raises(CarlaConnectionError, match=r"10\.9\.8\.7:2345 stopped answering during world.tick"):
        for _ in range(5):
            env.step([0.0, 1.0])
    assert server.world.actors == {} and server.world.settings.synchronous_mode is False
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()


def test_server_dead_cleanup_warns_but_raises_the_connection_error(fake_server: Any) -> None:
    from sim_bridges.carla.env import CarlaOccludedPedestrianEnv

    fake_server(fail_at_tick=6, dies=True)
    env = CarlaOccludedPedestrianEnv(port=2346, seed=0)
    env.reset(options={"child_present": True})
    with (
        pytest.warns(UserWarning, match=r"cleanup at 127\.0\.0\.1:2346 incomplete"),
        pytest.raises(CarlaConnectionError),
    ):
        for _ in range(5):
            env.step([0.0, 1.0])
    env.close()
