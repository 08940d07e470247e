"""The MuJoCo world of the scenario, generated as an MJCF string from the config.

Generating the XML from ``ScenarioConfig`` keeps the rendered road, truck and child in step
with the numbers the dynamics and rewards use. Everything that moves (ego, truck, child) is
a mocap body: the model has no degrees of freedom, MuJoCo only places, renders and
measures distances between geoms, and a step costs microseconds.

Geom groups: 0 scenery, 1 truck, 2 child (all seen by the front camera); 3 waypoint
markers and 4 the ego's own body, shown only in the top-down privileged view.
"""

from __future__ import annotations

from sim_bridges.driving.config import ScenarioConfig, VehicleParams

# Heights (m) of the front camera and of the world's top-down camera.
CAMERA_HEIGHT = 1.45
CAMERA_FORWARD = 0.9  # from the ego's centre, just behind the windscreen top
CAMERA_PITCH_DEG = 6.0  # looking slightly down
TOP_CAMERA_HEIGHT = 40.0

EGO_COLLISION_GEOM = "ego_chassis"
CHILD_COLLISION_GEOM = "child_body"
TRUCK_COLLISION_GEOMS = ("truck_cargo", "truck_cab")


def _f(*values: float) -> str:
    return " ".join(f"{v:.4g}" for v in values)


def _camera_axes(pitch_deg: float) -> str:
    """xyaxes of a camera looking along +x of its body, tilted down by pitch_deg."""
    import math

    p = math.radians(pitch_deg)
    # image x axis points to the body's right (-y); image y axis is "up", tilted forward.
    return _f(0, -1, 0, math.sin(p), 0, math.cos(p))


def build_mjcf(
    cfg: ScenarioConfig,
    vehicle: VehicleParams,
    front_size: tuple[int, int],
    front_fovy: float,
    top_size: tuple[int, int],
) -> str:
    """The scene as MJCF text; front_size and top_size are (width, height) of the two cameras."""
    lw = cfg.lane_width
    x0, x1 = cfg.road_start_x, cfg.road_end_x
    xc, hx = 0.5 * (x0 + x1), 0.5 * (x1 - x0)
    walk_r, walk_l = -lw - cfg.parking_width - 1.5, lw + 1.5
    line_w = 0.15
    dash_len, dash_period = 3.0, 7.0

    scenery = [
        f'<geom name="ground" type="plane" size="{_f(hx + 60, 60, 1)}" pos="{_f(xc, 0, 0)}" '
        'material="grass"/>',
        # Asphalt: both lanes and the parking strip, a hair above the ground.
        f'<geom name="road" type="box" size="{_f(hx, lw + 0.5 * cfg.parking_width + 0.3, 0.005)}" '
        f'pos="{_f(xc, -0.5 * cfg.parking_width, 0.005)}" material="asphalt"/>',
        f'<geom name="walk_right" type="box" size="{_f(hx, 1.5, 0.06)}" pos="{_f(xc, walk_r, 0.06)}" '
        f'material="pavement"/>',
        f'<geom name="walk_left" type="box" size="{_f(hx, 1.5, 0.06)}" pos="{_f(xc, walk_l, 0.06)}" '
        f'material="pavement"/>',
        # Solid edge lines on both sides of the carriageway.
        f'<geom name="edge_right" type="box" size="{_f(hx, line_w / 2, 0.004)}" '
        f'pos="{_f(xc, -lw, 0.012)}" material="paint"/>',
        f'<geom name="edge_left" type="box" size="{_f(hx, line_w / 2, 0.004)}" '
        f'pos="{_f(xc, lw, 0.012)}" material="paint"/>',
    ]
    x = x0 + 1.0
    i = 0
    while x + dash_len < x1:
        scenery.append(
            f'<geom name="dash{i}" type="box" size="{_f(dash_len / 2, line_w / 2, 0.004)}" '
            f'pos="{_f(x + dash_len / 2, 0, 0.012)}" material="paint"/>'
        )
        x += dash_period
        i += 1
    # Posts along the far side give the camera motion cues.
    for j, px in enumerate(range(int(x0) + 5, int(x1), 10)):
        scenery.append(
            f'<geom name="post{j}" type="cylinder" size="0.12 1.5" pos="{_f(px, walk_l + 0.8, 1.5)}" '
            f'material="post"/>'
        )
    markers = [
        f'<geom name="wp{k}" type="cylinder" size="0.45 0.01" group="3" material="marker" '
        f'pos="{_f(k * cfg.waypoint_spacing, cfg.lane_y, 0.03)}"/>'
        for k in range(1, cfg.num_waypoints + 2)
    ]

    hl, hw, tl, tw, th = (
        0.5 * vehicle.length,
        0.5 * vehicle.width,
        cfg.truck_length,
        cfg.truck_width,
        cfg.truck_height,
    )
    cab_len = 2.0
    cargo_len = tl - cab_len - 0.2
    cargo_cx = -0.5 * tl + 0.5 * cargo_len
    cab_cx = 0.5 * tl - 0.5 * cab_len
    r, hgt = cfg.child_radius, cfg.child_height
    head_r = 0.14
    torso_top = hgt - 2 * head_r - r
    fw, fh = front_size
    tw_px, th_px = top_size
    return f"""
<mujoco model="occluded_pedestrian">
  <compiler angle="radian"/>
  <option timestep="{_f(cfg.dt)}"/>
  <visual>
    <global offwidth="{max(fw, tw_px)}" offheight="{max(fh, th_px)}"/>
    <quality shadowsize="0" offsamples="0"/>
    <headlight ambient="0.45 0.45 0.45" diffuse="0.35 0.35 0.35" specular="0 0 0"/>
    <map znear="0.001" zfar="5"/>
  </visual>
  <statistic extent="100" center="{_f(0.5 * cfg.route_length, 0, 0)}"/>
  <asset>
    <texture name="sky" type="skybox" builtin="gradient" rgb1="0.72 0.8 0.9" rgb2="0.95 0.96 0.98"
             width="64" height="64"/>
    <material name="grass" rgba="0.32 0.45 0.26 1"/>
    <material name="asphalt" rgba="0.2 0.2 0.22 1"/>
    <material name="pavement" rgba="0.55 0.55 0.53 1"/>
    <material name="paint" rgba="0.95 0.95 0.95 1"/>
    <material name="post" rgba="0.12 0.12 0.12 1"/>
    <material name="marker" rgba="0.1 0.9 0.2 0.8"/>
    <material name="cargo" rgba="0.55 0.6 0.7 1"/>
    <material name="cab" rgba="0.7 0.12 0.1 1"/>
    <material name="tyre" rgba="0.05 0.05 0.05 1"/>
    <material name="child" rgba="1.0 0.95 0.3 1"/>
    <material name="skin" rgba="0.95 0.75 0.6 1"/>
    <material name="ego" rgba="0.15 0.35 0.9 1"/>
    <material name="glass" rgba="0.1 0.12 0.15 1"/>
  </asset>
  <worldbody>
    <light name="sun" directional="true" dir="-0.3 -0.5 -1" diffuse="0.5 0.5 0.5" specular="0 0 0"
           castshadow="false"/>
    <camera name="top" pos="{_f(0.5 * cfg.route_length, -1.5, TOP_CAMERA_HEIGHT)}" xyaxes="1 0 0 0 1 0"
            projection="orthographic" fovy="{_f(cfg.route_length * 1.3 * th_px / tw_px)}"/>
    {chr(10).join("    " + g for g in scenery)}
    {chr(10).join("    " + g for g in markers)}
    <body name="ego" mocap="true" pos="0 {_f(cfg.lane_y)} 0">
      <geom name="{EGO_COLLISION_GEOM}" type="box" size="{_f(hl, hw, 0.45)}" pos="0 0 0.65" group="4"
            material="ego"/>
      <geom name="ego_cabin" type="box" size="{_f(0.55 * hl, 0.9 * hw, 0.3)}" pos="-0.3 0 1.3" group="4"
            material="glass"/>
      <camera name="front" pos="{_f(CAMERA_FORWARD, 0, CAMERA_HEIGHT)}"
              xyaxes="{_camera_axes(CAMERA_PITCH_DEG)}" fovy="{_f(front_fovy)}"/>
    </body>
    <body name="truck" mocap="true" pos="{_f(cfg.truck_front_x - 0.5 * tl, cfg.truck_y, 0)}">
      <geom name="truck_cargo" type="box" size="{_f(cargo_len / 2, tw / 2, (th - 0.05) / 2)}"
            pos="{_f(cargo_cx, 0, 0.05 + (th - 0.05) / 2)}" group="1" material="cargo"/>
      <geom name="truck_cab" type="box" size="{_f(cab_len / 2, tw / 2, (th - 0.55) / 2)}"
            pos="{_f(cab_cx, 0, 0.05 + (th - 0.55) / 2)}" group="1" material="cab"/>
      <geom name="truck_gap" type="box" size="{_f(0.1, tw / 2, (th - 0.55) / 2)}"
            pos="{_f(cargo_cx + cargo_len / 2 + 0.1, 0, 0.05 + (th - 0.55) / 2)}" group="1" material="tyre"/>
      <geom name="truck_windscreen" type="box" size="{_f(0.02, tw / 2 - 0.15, 0.35)}"
            pos="{_f(0.5 * tl + 0.005, 0, th - 0.95)}" group="1" material="glass"/>
    </body>
    <body name="child" mocap="true" pos="0 0 -20">
      <geom name="{CHILD_COLLISION_GEOM}" type="capsule" fromto="0 0 {_f(r)} 0 0 {_f(torso_top)}"
            size="{_f(r)}" group="2" material="child"/>
      <geom name="child_head" type="sphere" size="{_f(head_r)}" pos="0 0 {_f(hgt - head_r)}" group="2"
            material="skin"/>
    </body>
  </worldbody>
</mujoco>
"""
