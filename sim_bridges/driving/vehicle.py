"""The ego car: a kinematic bicycle model with actuator limits.

Why not a MuJoCo-actuated wheeled body: a tyre-contact car in MuJoCo needs small time
steps and careful friction tuning to be stable, and costs far more per step, while the
A2D scenario only needs plausible longitudinal and lateral dynamics. The bicycle model is
exact to integrate, deterministic, and cheap (plain Python floats, 10 sub-steps of 10 ms
per control step). Its pose is written to a MuJoCo mocap body for rendering and for
MuJoCo's collision-distance queries.

Model (centre-of-body reference point, slip angle beta):

* steering: road-wheel angle delta follows ``steer * max_steer`` at no more than
  ``steer_rate``; positive steer turns left (counter-clockwise, REP 103).
* longitudinal: ``pedal >= 0`` accelerates with ``pedal * max_accel``; ``pedal < 0``
  brakes with ``|pedal| * max_brake``; quadratic drag and rolling resistance slow the car,
  which never reverses. Full throttle levels off at ``top_speed``.
* kinematics: ``beta = atan(lr/L * tan(delta))``, ``x' = v cos(yaw+beta)``,
  ``y' = v sin(yaw+beta)``, ``yaw' = v cos(beta) tan(delta) / L``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim_bridges.driving.config import DEFAULT_VEHICLE, VehicleParams


@dataclass
class VehicleState:
    """Pose (m, rad), speed (m/s) and road-wheel angle (rad) of the car's body centre."""

    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    speed: float = 0.0
    steer_angle: float = 0.0

    def copy(self) -> VehicleState:
        return VehicleState(self.x, self.y, self.yaw, self.speed, self.steer_angle)


def step_vehicle(
    state: VehicleState, steer: float, pedal: float, dt: float, params: VehicleParams = DEFAULT_VEHICLE
) -> VehicleState:
    """Advance the car by dt seconds under a held [steer, pedal] command in [-1, 1]."""
    steer = min(1.0, max(-1.0, float(steer)))
    pedal = min(1.0, max(-1.0, float(pedal)))
    n = params.substeps
    h = dt / n
    target = steer * params.max_steer
    max_delta_change = params.steer_rate * h
    drive = pedal * params.max_accel if pedal >= 0.0 else pedal * params.max_brake
    drag = params.drag
    lr_over_l = params.rear_to_cg / params.wheelbase
    x, y, yaw, v, delta = state.x, state.y, state.yaw, state.speed, state.steer_angle
    for _ in range(n):
        delta += min(max_delta_change, max(-max_delta_change, target - delta))
        resist = drag * v * v + (params.rolling_decel if v > 0.0 else 0.0)
        v = max(0.0, v + (drive - resist) * h)
        tan_delta = math.tan(delta)
        beta = math.atan(lr_over_l * tan_delta)
        heading = yaw + beta
        x += v * math.cos(heading) * h
        y += v * math.sin(heading) * h
        yaw += v * math.cos(beta) * tan_delta / params.wheelbase * h
    return VehicleState(x, y, yaw, v, delta)


def footprint(state: VehicleState, params: VehicleParams = DEFAULT_VEHICLE) -> list[tuple[float, float]]:
    """The four corners (x, y) of the car's rectangle, for lane-invasion checks."""
    c, s = math.cos(state.yaw), math.sin(state.yaw)
    hl, hw = 0.5 * params.length, 0.5 * params.width
    return [
        (state.x + c * dx - s * dy, state.y + s * dx + c * dy)
        for dx, dy in ((hl, hw), (hl, -hw), (-hl, -hw), (-hl, hw))
    ]


def nose_x(state: VehicleState, params: VehicleParams = DEFAULT_VEHICLE) -> float:
    """x of the front bumper's centre (what the trigger distance is measured from)."""
    return state.x + 0.5 * params.length * math.cos(state.yaw)
