"""Pure scenario geometry for CARLA: route frame, straight-segment choice, truck/child placement.

CARLA's world is left-handed (x forward, y right, z up, yaw in degrees clockwise seen from
above). The embedded scenario's route frame is REP 103: x along the road, y to the left,
with the ego's lane centre at ``y = cfg.lane_y`` (-1.75). ``RouteFrame`` converts between
the two so every state vector has the embedded layout and meaning. Lateral placements are
offsets from the ego lane's centre, scaled to the CARLA lane's real width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim_bridges.driving.config import ScenarioConfig

Pose2D = tuple[float, float, float]  # CARLA x, y (m) and yaw (degrees)


def wrap_angle(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


@dataclass(frozen=True)
class RouteFrame:
    """Origin (ego start on its lane centre) and heading of the straight route, in CARLA coordinates."""

    origin_x: float
    origin_y: float
    heading_deg: float
    lane_y: float = -1.75  # route-frame y of the ego lane's centre

    @property
    def _u(self) -> tuple[float, float]:
        h = math.radians(self.heading_deg)
        return math.cos(h), math.sin(h)

    def to_route(self, x: float, y: float) -> tuple[float, float]:
        """CARLA world (x, y) -> route frame (along, left)."""
        ux, uy = self._u
        dx, dy = x - self.origin_x, y - self.origin_y
        return dx * ux + dy * uy, dx * uy - dy * ux + self.lane_y

    def to_world(self, along: float, left: float) -> tuple[float, float]:
        """Route frame (along, left) -> CARLA world (x, y)."""
        ux, uy = self._u
        lat = left - self.lane_y
        return self.origin_x + along * ux + lat * uy, self.origin_y + along * uy - lat * ux

    def vector_to_route(self, vx: float, vy: float) -> tuple[float, float]:
        ux, uy = self._u
        return vx * ux + vy * uy, vx * uy - vy * ux

    def left_vector_world(self) -> tuple[float, float]:
        """The unit vector pointing to the route's left, in CARLA world coordinates."""
        ux, uy = self._u
        return uy, -ux

    def yaw_to_route(self, yaw_deg: float) -> float:
        """CARLA yaw (degrees, clockwise) -> route-frame yaw (radians, counter-clockwise)."""
        return wrap_angle(-math.radians(yaw_deg - self.heading_deg))


def heading_change_deg(path: Sequence[Pose2D]) -> float:
    """Largest heading deviation (degrees) of a path from its first pose."""
    if not path:
        return 0.0
    h0 = path[0][2]
    return max(abs((p[2] - h0 + 180.0) % 360.0 - 180.0) for p in path)


def is_straight(
    path: Sequence[Pose2D], length: float, max_heading_deg: float = 3.0, max_lateral: float = 0.5
) -> bool:
    """Whether a lane-centre path reaches ``length`` metres with little turning or lateral drift."""
    if len(path) < 2:
        return False
    frame = RouteFrame(path[0][0], path[0][1], path[0][2], lane_y=0.0)
    along = [frame.to_route(p[0], p[1]) for p in path]
    if max(a for a, _ in along) < length:
        return False
    return heading_change_deg(path) <= max_heading_deg and max(abs(lat) for _, lat in along) <= max_lateral


def route_length_needed(cfg: ScenarioConfig, margin: float = 15.0) -> float:
    """Metres of straight lane the scenario needs ahead of the start (route plus room to stop)."""
    return cfg.route_length + margin


def choose_start(
    paths: Sequence[Sequence[Pose2D]], length: float, rng: np.random.Generator, preferred: int | None = None
) -> int:
    """Index of a candidate start whose lane ahead is straight for ``length`` m (random among them)."""
    ok = [i for i, p in enumerate(paths) if is_straight(p, length)]
    if not ok:
        raise ValueError(f"no spawn point on this map has {length:.0f} m of straight lane ahead")
    if preferred is not None:
        if preferred not in ok:
            raise ValueError(f"spawn point {preferred} has no {length:.0f} m straight lane ahead")
        return preferred
    return int(ok[int(rng.integers(len(ok)))])


@dataclass(frozen=True)
class EpisodeDraw:
    """The per-episode random choices, drawn in the embedded env's order so seeds agree."""

    truck_front_x: float
    child_present: bool
    child_speed: float


def draw_episode(rng: np.random.Generator, cfg: ScenarioConfig, options: dict | None = None) -> EpisodeDraw:
    """Truck position jitter, child presence (p = 0.5) and speed U(low, high); options may fix each."""
    options = options or {}
    u = rng.random(5)  # same five draws as the embedded scenario (two are its start jitters)
    truck_front_x = cfg.truck_front_x + cfg.truck_x_jitter * (2.0 * u[0] - 1.0)
    present = bool(u[1] < cfg.child_present_prob)
    speed = cfg.child_speed_low + (cfg.child_speed_high - cfg.child_speed_low) * u[2]
    return EpisodeDraw(
        float(options.get("truck_front_x", truck_front_x)),
        bool(options.get("child_present", present)),
        float(options.get("child_speed", speed)),
    )


def truck_route_pose(cfg: ScenarioConfig, truck_front_x: float, lane_width: float) -> tuple[float, float]:
    """Route-frame centre of the parked truck: its inner side on the right edge of a lane this wide."""
    inner_offset = (
        cfg.truck_y + 0.5 * cfg.truck_width
    ) + cfg.lane_width  # inner side vs edge line (embedded)
    left = cfg.lane_y - 0.5 * lane_width + inner_offset - 0.5 * cfg.truck_width
    return truck_front_x - 0.5 * cfg.truck_length, left


def child_route_start(cfg: ScenarioConfig, truck_front_x: float, lane_width: float) -> tuple[float, float]:
    """Route-frame start of the child: in front of the truck's nose, as far outside the edge as embedded."""
    outside = -cfg.lane_width - cfg.child_start_y  # metres right of the edge line (0.8 by default)
    return truck_front_x + cfg.child_gap, cfg.lane_y - 0.5 * lane_width - outside


def child_route_end_y(cfg: ScenarioConfig, lane_width: float) -> float:
    """Route-frame y where the child stops (as far beyond the far lane's edge as in the embedded road)."""
    beyond = cfg.child_end_y - cfg.lane_width  # metres past the far edge line
    return cfg.lane_y + 1.5 * lane_width + beyond


def trigger_reached(child_x: float, ego_nose_x: float, cfg: ScenarioConfig) -> bool:
    """The child starts running once the ego's nose is within the trigger distance (along the road)."""
    return child_x - ego_nose_x <= cfg.trigger_distance


def waypoints_along(cfg: ScenarioConfig) -> np.ndarray:
    """Route-frame x of the intermediate waypoints and, last, the completion point."""
    return np.arange(1, cfg.num_waypoints + 2) * cfg.waypoint_spacing


def truck_box(
    center_x: float, center_y: float, length: float, width: float
) -> tuple[float, float, float, float]:
    """Axis-aligned (xmin, xmax, ymin, ymax) of the truck in the route frame (it is parked straight)."""
    return center_x - 0.5 * length, center_x + 0.5 * length, center_y - 0.5 * width, center_y + 0.5 * width
