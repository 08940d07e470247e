"""Every number of the occluded-pedestrian scenario in one place.

The scenario's original simulator was never published (av_scenario.md), so these values
are the project's own choice, tuned with the scripted drivers in ``expert.py``
(benchmarks/driving_baselines.py measures them) so that:

* a driver at the speed limit (10 m/s) completes the 40 m route in 41 of the 90 steps;
* a driver that always slows to 5 m/s near the truck completes it in about 60 steps, and
  one that also stops for the child it sees in at most about 80;
* with a child present, a driver at the speed limit cannot stop once the child becomes
  visible (its nose is then 3-6 m from the child's path; braking from 10 m/s
  takes about 5 m plus the 0.1 s control delay): it hits the child in every child
  episode, even when it brakes at first sight. Slowing down alone is not enough either
  (the child may still be crossing when a blind slow driver arrives); slowing down and
  stopping for the child once it shows avoids every collision.

Key layout (nominal, before the per-episode truck jitter of +-2 m): ego centre starts at
x = 0, y = -1.75 (right-lane centre, +-0.25 m jitter) at 10 m/s; the truck's nose is at
x = 24, its body spans y = [-5.97, -3.47]; the child (radius 0.25 m, 1.2 m tall) waits at
x = nose + 0.9, y = -5.0 and runs +y at U(1.5, 2.5) m/s once the ego's nose is within
11 m (along x) of it, stopping on the far sidewalk (y = 5). Waypoints every 40/11 m.

World frame: x along the road (direction of travel), y to the left, z up (REP 103).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VehicleParams:
    """A mid-size car: kinematic bicycle with actuator limits (SI units, radians)."""

    wheelbase: float = 2.7
    rear_to_cg: float = 1.35  # distance from the rear axle to the centre of the body
    length: float = 4.4
    width: float = 1.8
    max_steer: float = 0.35  # road-wheel angle at steer = +-1 (20 degrees)
    steer_rate: float = 1.2  # rad/s: full lock to centre in about 0.3 s
    max_accel: float = 4.0  # m/s^2 at full throttle from standstill
    max_brake: float = 8.0  # m/s^2 at full brake (about 0.8 g, dry asphalt)
    top_speed: float = 15.0  # full-throttle terminal speed set by aerodynamic drag
    rolling_decel: float = 0.1  # m/s^2 while moving
    substeps: int = 10  # integration steps per 10 Hz control step (dt = 10 ms)

    @property
    def drag(self) -> float:
        """Quadratic drag coefficient so full throttle levels off at top_speed."""
        return (self.max_accel - self.rolling_decel) / self.top_speed**2


@dataclass(frozen=True)
class ScenarioConfig:
    """Road, route, truck and child layout, and the episode rules."""

    # timing
    control_hz: float = 10.0
    horizon: int = 90
    # road (two lanes of 3.5 m; a parking strip on the right for the truck)
    lane_width: float = 3.5
    road_start_x: float = -30.0
    road_end_x: float = 110.0
    parking_width: float = 2.8
    # route: the ego's centre starts at x = 0 and completes at x = route_length
    route_length: float = 40.0
    num_waypoints: int = 10  # intermediate waypoints; completion is the 11th point
    speed_limit: float = 10.0  # m/s (36 km/h)
    start_speed: float = 10.0  # the ego arrives at the speed limit
    start_y_jitter: float = 0.25
    start_yaw_jitter: float = 0.03
    # truck: parked on the shoulder, nose (front) towards +x
    truck_length: float = 8.0
    truck_width: float = 2.5
    truck_height: float = 3.2
    truck_front_x: float = 24.0  # nominal x of the truck's nose
    truck_x_jitter: float = 2.0  # uniform +- jitter of the truck (and child) position
    truck_y: float = -4.72  # centre; inner side at y = -3.47, on the edge line
    # child: waits this far in front of the truck's nose, hidden by the truck's body
    child_present_prob: float = 0.5
    child_gap: float = 0.9  # from the truck's nose to the child's centre line of travel
    child_radius: float = 0.25
    child_height: float = 1.2
    child_start_y: float = -5.0
    child_end_y: float = 5.0  # stops on the far sidewalk
    child_speed_low: float = 1.5  # m/s, uniform; a running child
    child_speed_high: float = 2.5
    trigger_distance: float = 11.0  # ego nose within this distance (along x) of the child
    # termination rules (from the reference)
    max_waypoint_distance: float = 12.0
    max_steps_without_waypoint: int = 35
    # rewards (from the reference)
    waypoint_reward: float = 1.0
    completion_reward: float = 10.0
    collision_penalty: float = 1.0
    lane_invasion_penalty: float = 1.0
    action_cost: float = 0.025

    @property
    def dt(self) -> float:
        return 1.0 / self.control_hz

    @property
    def lane_y(self) -> float:
        """Centre of the ego (right) lane."""
        return -0.5 * self.lane_width

    @property
    def waypoint_spacing(self) -> float:
        return self.route_length / (self.num_waypoints + 1)


DEFAULT_VEHICLE = VehicleParams()
DEFAULT_SCENARIO = ScenarioConfig()
