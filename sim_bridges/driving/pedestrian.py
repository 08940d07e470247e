"""The child: when it is there, where it starts, when it runs, and when the camera sees it.

The child is kinematic (a mocap body): it waits in front of the truck's nose until the
ego's nose comes within ``trigger_distance`` along the road, then runs straight across
(+y) at a speed drawn per episode, and stops on the far sidewalk. Visibility is the
camera's line of sight in the ground plane: the truck (taller than the child and the
camera) blocks it, and the child must be inside the camera's horizontal field of view.
This flag (used for ``partial_state``) agrees with the rendered pixels except on the step
where a sliver of the child is less than a pixel wide at the truck's edge or the image's
edge (about 1% of the steps of a child episode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim_bridges.driving.config import ScenarioConfig


@dataclass
class ChildState:
    """Where the child is and what it will do; ``present`` False means no child this episode."""

    present: bool
    x: float
    y: float
    speed: float  # the speed it runs at once triggered
    end_y: float  # where it stops, on the far sidewalk
    radius: float = 0.25
    triggered: bool = False

    @property
    def vy(self) -> float:
        """Velocity across the road: its running speed from the trigger on, 0 before and once stopped."""
        moving = self.present and self.triggered and self.y < self.end_y
        return self.speed if moving else 0.0

    def copy(self) -> ChildState:
        return ChildState(self.present, self.x, self.y, self.speed, self.end_y, self.radius, self.triggered)


def make_child(present: bool, speed: float, truck_front_x: float, cfg: ScenarioConfig) -> ChildState:
    """The child hidden in front of the truck's nose (or an absent placeholder)."""
    x = truck_front_x + cfg.child_gap
    return ChildState(present, x, cfg.child_start_y, speed, cfg.child_end_y, cfg.child_radius)


def advance_child(child: ChildState, ego_nose_x: float, dt: float, cfg: ScenarioConfig) -> None:
    """Move a running child by dt, then start it if the ego has come within the trigger distance."""
    if not child.present:
        return
    if child.triggered:
        child.y = min(child.end_y, child.y + child.speed * dt)
    elif child.x - ego_nose_x <= cfg.trigger_distance:
        child.triggered = True


def _segment_hits_box(
    p0: tuple[float, float], p1: tuple[float, float], box: tuple[float, float, float, float]
) -> bool:
    """Whether the segment p0-p1 crosses the axis-aligned box (xmin, xmax, ymin, ymax) (slab test)."""
    t0, t1 = 0.0, 1.0
    for axis in (0, 1):
        d = p1[axis] - p0[axis]
        lo, hi = box[2 * axis], box[2 * axis + 1]
        if abs(d) < 1e-12:
            if p0[axis] < lo or p0[axis] > hi:
                return False
            continue
        a, b = (lo - p0[axis]) / d, (hi - p0[axis]) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True


def child_visible(
    child: ChildState,
    camera_xy: tuple[float, float],
    camera_yaw: float,
    half_fov: float,
    truck_box: tuple[float, float, float, float],
    max_range: float = 60.0,
) -> bool:
    """Whether any part of the child's silhouette is in the field of view and not behind the truck."""
    if not child.present:
        return False
    cx, cy = camera_xy
    c, s = math.cos(camera_yaw), math.sin(camera_yaw)
    # Sample the silhouette: centre and the two extreme points across the line of sight.
    dx, dy = child.x - cx, child.y - cy
    dist = math.hypot(dx, dy)
    if dist < 1e-6 or dist > max_range:
        return False
    r = child.radius
    px, py = -dy / dist * r, dx / dist * r
    for ox, oy in ((0.0, 0.0), (px, py), (-px, -py)):
        tx, ty = child.x + ox, child.y + oy
        fx, fy = (tx - cx) * c + (ty - cy) * s, -(tx - cx) * s + (ty - cy) * c
        if fx <= 0.1 or abs(math.atan2(fy, fx)) > half_fov:
            continue
        if not _segment_hits_box((cx, cy), (tx, ty), truck_box):
            return True
    return False
