"""Hand-coded drivers: the privileged expert (the reward's "PID" reference) and two blind baselines.

All three keep the lane with a Stanley-type steering law on the ego pose and the known
road geometry, and track a target speed with a feed-forward plus proportional pedal law.
They differ only in the target speed:

* ``expert_action`` (privileged state): the speed limit when there is no child; when one
  is present, the cautious speed near the truck, and a stop before the child's path until
  it has crossed the ego lane. It never collides.
* ``blind_fast_action``: the speed limit everywhere (what a camera-only imitator of the
  expert learns if it cannot tell whether a child is there).
* ``blind_cautious_action``: always the cautious speed near the truck, whatever is behind
  it, without reacting to what the camera shows. Slowing alone is not enough: the child
  may still be in the lane when it arrives.
* ``reactive_fast_action`` / ``reactive_cautious_action`` (``partial_state``, i.e. what the
  camera reveals): the blind drivers plus a hard stop for a child they can see.
  Reactive-fast still hits every child (it sees it too late); reactive-cautious never
  does: it is the camera-only (POMDP) reference a trained A2D trainee should approach.

The blind and reactive drivers read only what a camera-only driver could know: the ego
pose and speed, the truck position (both layouts share these first seven entries) and,
for the reactive ones, the child only while visible.
"""

from __future__ import annotations

import math

import numpy as np

from sim_bridges.driving.config import DEFAULT_SCENARIO, DEFAULT_VEHICLE, ScenarioConfig, VehicleParams
from sim_bridges.driving.observations import (
    CHILD_FLAG,
    CHILD_VY,
    CHILD_X,
    CHILD_Y,
    EGO_SPEED,
    EGO_X,
    EGO_Y,
    EGO_YAW,
    TRUCK_X,
)

CAUTIOUS_SPEED = 5.0  # m/s near the truck
SLOW_ZONE_AHEAD = 10.0  # the nose is at the cautious speed from this far before the child's path
PLAN_DECEL = 3.5  # m/s^2, comfortable deceleration for speed profiles
EMERGENCY_DECEL = 6.0  # m/s^2 planned when reacting to a child the camera has just revealed
STOP_MARGIN = 0.7  # m kept between the nose and the child's path when stopping for it
CLEAR_TIME_MARGIN = 0.3  # s: arrive at the child's path this long after it has left the lane
CLEAR_DISTANCE_MARGIN = 0.5  # m
STANLEY_GAIN = 1.5
SPEED_GAIN = 4.0  # (m/s^2) per (m/s) of speed error


def _lane_keep_steer(state: np.ndarray, cfg: ScenarioConfig, vehicle: VehicleParams) -> float:
    """Stanley steering towards the ego lane's centre line (the road runs along +x)."""
    lateral_error = float(state[EGO_Y]) - cfg.lane_y
    speed = float(state[EGO_SPEED])
    delta = -float(state[EGO_YAW]) - math.atan2(STANLEY_GAIN * lateral_error, 1.0 + speed)
    return float(np.clip(delta / vehicle.max_steer, -1.0, 1.0))


def _pedal_for_speed(speed: float, target: float, vehicle: VehicleParams) -> float:
    """Pedal in [-1, 1] that holds target speed: drag feed-forward plus a proportional term."""
    accel = SPEED_GAIN * (target - speed)
    if target <= 0.05 and speed < 0.5:
        return -1.0  # hold the car firmly at a stop
    force = accel + vehicle.drag * speed * speed + (vehicle.rolling_decel if speed > 0 else 0.0)
    pedal = force / vehicle.max_accel if force >= 0 else force / vehicle.max_brake
    return float(np.clip(pedal, -1.0, 1.0))


def _child_path_x(state: np.ndarray, cfg: ScenarioConfig) -> float:
    """x of the child's crossing line, known from the truck's position (the child waits at its nose)."""
    return float(state[TRUCK_X]) + 0.5 * cfg.truck_length + cfg.child_gap


def _lane_far_side(cfg: ScenarioConfig, vehicle: VehicleParams) -> float:
    """y beyond which a crossing child can no longer touch a car driving in the ego lane."""
    return cfg.lane_y + 0.5 * vehicle.width + cfg.child_radius + 0.1


def _cautious_limit(state: np.ndarray, cfg: ScenarioConfig, vehicle: VehicleParams) -> float:
    """Speed cap that brings the car to CAUTIOUS_SPEED before the truck's nose, until it is past."""
    nose = float(state[EGO_X]) + 0.5 * vehicle.length
    path_x = _child_path_x(state, cfg)
    tail = float(state[EGO_X]) - 0.5 * vehicle.length
    if tail > path_x + cfg.child_radius:
        return math.inf  # past the danger
    zone_start = path_x - SLOW_ZONE_AHEAD
    return math.sqrt(CAUTIOUS_SPEED**2 + 2.0 * PLAN_DECEL * max(0.0, zone_start - nose))


def _yield_limit(state: np.ndarray, cfg: ScenarioConfig, vehicle: VehicleParams) -> float:
    """Speed cap that stops the nose before the child's path while the child could still enter the lane."""
    if float(state[CHILD_FLAG]) < 0.5:
        return math.inf
    return _stop_before_child(state, cfg, vehicle, PLAN_DECEL)


def _stop_before_child(state: np.ndarray, cfg: ScenarioConfig, vehicle: VehicleParams, decel: float) -> float:
    """Speed cap that keeps the car out of a crossing child's way, or inf if the child is no threat.

    Either the car can still stop before the child's path, or, for a child already running,
    it arrives there only after the child has left the lane (with time and distance margins).
    """
    nose = float(state[EGO_X]) + 0.5 * vehicle.length
    child_x, child_y, child_vy = float(state[CHILD_X]), float(state[CHILD_Y]), float(state[CHILD_VY])
    lane_far_side = _lane_far_side(cfg, vehicle)
    if child_y > lane_far_side or nose > child_x + cfg.child_radius:
        return math.inf  # the child has crossed the ego lane, or the car is already beside it
    path_edge = child_x - cfg.child_radius
    can_stop = math.sqrt(2.0 * decel * max(0.0, path_edge - STOP_MARGIN - nose))
    if child_vy <= 0.0:
        return can_stop
    time_to_clear = (lane_far_side - child_y) / child_vy + CLEAR_TIME_MARGIN
    arrive_after = max(0.0, path_edge - CLEAR_DISTANCE_MARGIN - nose) / time_to_clear
    return max(can_stop, arrive_after)


def _seen_child_limit(partial: np.ndarray, cfg: ScenarioConfig, vehicle: VehicleParams) -> float:
    """Speed cap from what the camera shows: brake hard to stop before a visible child still crossing."""
    if float(partial[CHILD_FLAG]) < 0.5:
        return math.inf
    return _stop_before_child(partial, cfg, vehicle, EMERGENCY_DECEL)


def _action(state: np.ndarray, target: float, cfg: ScenarioConfig, vehicle: VehicleParams) -> np.ndarray:
    steer = _lane_keep_steer(state, cfg, vehicle)
    pedal = _pedal_for_speed(float(state[EGO_SPEED]), target, vehicle)
    return np.array([steer, pedal], np.float32)


def expert_action(
    state: np.ndarray, cfg: ScenarioConfig = DEFAULT_SCENARIO, vehicle: VehicleParams = DEFAULT_VEHICLE
) -> np.ndarray:
    """The privileged expert's [steer, pedal]: fast without a child, cautious and yielding with one."""
    target = cfg.speed_limit
    if float(state[CHILD_FLAG]) > 0.5 and float(state[CHILD_Y]) <= _lane_far_side(cfg, vehicle):
        target = min(target, _cautious_limit(state, cfg, vehicle), _yield_limit(state, cfg, vehicle))
    return _action(state, target, cfg, vehicle)


def blind_fast_action(
    state: np.ndarray, cfg: ScenarioConfig = DEFAULT_SCENARIO, vehicle: VehicleParams = DEFAULT_VEHICLE
) -> np.ndarray:
    """Lane keeping at the speed limit, whatever may be behind the truck."""
    return _action(state, cfg.speed_limit, cfg, vehicle)


def blind_cautious_action(
    state: np.ndarray, cfg: ScenarioConfig = DEFAULT_SCENARIO, vehicle: VehicleParams = DEFAULT_VEHICLE
) -> np.ndarray:
    """Lane keeping that always slows to the cautious speed near the truck."""
    target = min(cfg.speed_limit, _cautious_limit(state, cfg, vehicle))
    return _action(state, target, cfg, vehicle)


def reactive_fast_action(
    partial_state: np.ndarray,
    cfg: ScenarioConfig = DEFAULT_SCENARIO,
    vehicle: VehicleParams = DEFAULT_VEHICLE,
) -> np.ndarray:
    """The speed limit, braking as soon as the camera shows the child (shows that reacting is too late)."""
    target = min(cfg.speed_limit, _seen_child_limit(partial_state, cfg, vehicle))
    return _action(partial_state, target, cfg, vehicle)


def reactive_cautious_action(
    partial_state: np.ndarray,
    cfg: ScenarioConfig = DEFAULT_SCENARIO,
    vehicle: VehicleParams = DEFAULT_VEHICLE,
) -> np.ndarray:
    """Slow near the truck and stop for a child the camera shows: the camera-only (POMDP) reference."""
    seen_crossed = float(partial_state[CHILD_FLAG]) > 0.5 and float(partial_state[CHILD_Y]) > _lane_far_side(
        cfg, vehicle
    )
    target = cfg.speed_limit
    if not seen_crossed:  # once the child is seen past the lane there is nothing left to fear
        target = min(
            target,
            _cautious_limit(partial_state, cfg, vehicle),
            _seen_child_limit(partial_state, cfg, vehicle),
        )
    return _action(partial_state, target, cfg, vehicle)
