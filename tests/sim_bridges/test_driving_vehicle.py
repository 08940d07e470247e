"""The ego car's bicycle model: it accelerates, brakes, steers and tops out as documented."""

from __future__ import annotations

import math

import pytest

from sim_bridges.driving.config import DEFAULT_VEHICLE
from sim_bridges.driving.vehicle import VehicleState, footprint, nose_x, step_vehicle

DT = 0.1


def drive(state: VehicleState, steer: float, pedal: float, steps: int) -> VehicleState:
    for _ in range(steps):
        state = step_vehicle(state, steer, pedal, DT)
    return state


def test_full_throttle_accelerates_at_the_limit_from_standstill() -> None:
    s = step_vehicle(VehicleState(), 0.0, 1.0, DT)
    # At low speed drag is negligible: v ~ max_accel * dt, straight ahead.
    assert s.speed == pytest.approx(DEFAULT_VEHICLE.max_accel * DT, rel=0.05)
    assert s.x > 0 and s.y == 0 and s.yaw == 0


def test_full_brake_stops_without_reversing() -> None:
    p = DEFAULT_VEHICLE
    s = step_vehicle(VehicleState(speed=10.0), 0.0, -1.0, DT)
    # Brakes plus the speed-dependent drag (engine braking and air) and rolling resistance.
    expected = (p.max_brake + p.drag * 10.0**2 + p.rolling_decel) * DT
    assert 10.0 - s.speed == pytest.approx(expected, rel=0.05)
    s = drive(s, 0.0, -1.0, 30)
    assert s.speed == 0.0
    stopped_x = s.x
    s = drive(s, 0.0, -1.0, 5)
    assert s.x == stopped_x  # no creeping backwards
    # Stopping distance from 10 m/s: a little under v^2 / (2 * max_brake), drag helping.
    assert 0.8 * 100 / (2 * p.max_brake) < stopped_x < 100 / (2 * p.max_brake)


def test_speed_levels_off_at_top_speed() -> None:
    s = drive(VehicleState(), 0.0, 1.0, 600)
    assert DEFAULT_VEHICLE.top_speed * 0.97 < s.speed <= DEFAULT_VEHICLE.top_speed


def test_coasting_slows_down() -> None:
    s = drive(VehicleState(speed=10.0), 0.0, 0.0, 10)
    assert 0.0 < s.speed < 10.0


def test_positive_steer_turns_left_and_is_rate_limited() -> None:
    s = step_vehicle(VehicleState(speed=8.0), 1.0, 0.0, DT)
    assert s.steer_angle == pytest.approx(DEFAULT_VEHICLE.steer_rate * DT)
    s = drive(s, 1.0, 0.0, 10)
    assert s.steer_angle == pytest.approx(DEFAULT_VEHICLE.max_steer)
    assert s.yaw > 0 and s.y > 0
    right = drive(VehicleState(speed=8.0), -1.0, 0.0, 10)
    assert right.yaw < 0 and right.y < 0


def test_turning_radius_matches_the_bicycle_geometry() -> None:
    v, p = 5.0, DEFAULT_VEHICLE
    s = drive(VehicleState(speed=v, steer_angle=p.max_steer), 1.0, 0.0, 1)
    beta = math.atan(p.rear_to_cg / p.wheelbase * math.tan(p.max_steer))
    yaw_rate = s.speed * math.cos(beta) * math.tan(p.max_steer) / p.wheelbase
    s2 = step_vehicle(s, 1.0, 0.0, DT)
    assert (s2.yaw - s.yaw) / DT == pytest.approx(yaw_rate, rel=0.03)


def test_actions_are_clipped() -> None:
    a = step_vehicle(VehicleState(speed=5.0), 3.0, 7.0, DT)
    b = step_vehicle(VehicleState(speed=5.0), 1.0, 1.0, DT)
    assert a == b


def test_footprint_and_nose() -> None:
    s = VehicleState(x=1.0, y=-1.75)
    corners = footprint(s)
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    assert max(xs) - min(xs) == pytest.approx(DEFAULT_VEHICLE.length)
    assert max(ys) - min(ys) == pytest.approx(DEFAULT_VEHICLE.width)
    assert nose_x(s) == pytest.approx(1.0 + DEFAULT_VEHICLE.length / 2)
