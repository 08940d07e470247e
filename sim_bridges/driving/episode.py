"""Pure per-step bookkeeping of the occluded-pedestrian episode: waypoints, reward, termination.

Why a module of its own: the embedded MuJoCo scenario and the CARLA backend must score
episodes identically, so both call these functions instead of each keeping the rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sim_bridges.driving.config import ScenarioConfig


def advance_waypoints(reached: int, ego_x: float, waypoints_x: Sequence[float], cfg: ScenarioConfig) -> int:
    """Count of intermediate waypoints passed (route-frame x), never decreasing."""
    while reached < cfg.num_waypoints and ego_x >= waypoints_x[reached]:
        reached += 1
    return reached


def is_complete(reached: int, ego_x: float, waypoints_x: Sequence[float], cfg: ScenarioConfig) -> bool:
    return reached == cfg.num_waypoints and ego_x >= waypoints_x[-1]


def off_route(next_waypoint: tuple[float, float], ego_xy: tuple[float, float], cfg: ScenarioConfig) -> bool:
    """At least ``max_waypoint_distance`` from the next waypoint."""
    return math.hypot(next_waypoint[0] - ego_xy[0], next_waypoint[1] - ego_xy[1]) >= cfg.max_waypoint_distance


def step_reward(
    bonus: float,
    cost: float,
    new_waypoints: int,
    success: bool,
    collided: bool,
    invaded: bool,
    cfg: ScenarioConfig,
) -> tuple[float, dict[str, float]]:
    """The reference's unscaled reward and its terms (same keys as the embedded env's reward_terms)."""
    terms = {
        "pid_bonus": bonus,
        "waypoints": cfg.waypoint_reward * new_waypoints,
        "completion": cfg.completion_reward * success,
        "collision": -cfg.collision_penalty * collided,
        "lane_invasion": -cfg.lane_invasion_penalty * invaded,
        "action_cost": -cost,
    }
    return float(sum(terms.values())), terms


def termination_reason(collided: bool, invaded: bool, success: bool, far: bool, stalled: bool) -> str:
    """The first reason that ends the episode, or "" (embedded env's priority order)."""
    for flag, name in (
        (collided, "collision"),
        (invaded, "lane_invasion"),
        (success, "completed"),
        (far, "off_route"),
        (stalled, "waypoint_timeout"),
    ):
        if flag:
            return name
    return ""
