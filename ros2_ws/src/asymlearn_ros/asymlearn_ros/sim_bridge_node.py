"""Simulator bridge: any asymmetric environment (sim_bridges.registry) as ROS 2 topics.

Why: the same policy node then runs against simulation and hardware, and evaluation
through ROS can be checked against an in-process rollout (lockstep mode is exact).

Topics (relative names; remap as usual):

* ``image`` (sensor_msgs/Image) and ``camera_info`` (sensor_msgs/CameraInfo, uncalibrated):
  the camera. Header stamps are SIMULATION time of the episode: step k of an episode is
  stamped k / control_rate_hz, so the first image of every episode has stamp 0 (the
  policy node's ``episode_start_on_zero_stamp`` resets its frame window on it). The
  terminal observation of an episode is not published on the camera (no action is
  wanted for it); the next episode's first image follows at once.
* ``~/privileged_state``, ``~/partial_state`` (std_msgs/Float32MultiArray): the state of
  the same step. ``layout.dim[0].label`` is ``"episode=E;step=K"`` so a consumer can pair
  it with the image of stamp K / rate of episode E (see :func:`step_label`).
* ``~/reward`` (std_msgs/Float32): reward of each step.
* ``~/episode_end`` (std_msgs/Bool): published once per episode end; data is True when
  the task ended (goal/hazard: ``terminated``), False at the time limit (``truncated``).
* ``~/episode_summary`` (std_msgs/String, JSON, reliable + transient local so a late
  evaluator still gets them): ``{"episode", "seed", "return", "length", "success",
  "terminated", "aborted"}``; also logged as one line.
* ``action`` (subscribed): std_msgs/Int32 (discrete), Float32MultiArray /
  Float64MultiArray / geometry_msgs/Twist (continuous; Twist via ``twist_fields``).

Modes: ``lockstep`` steps exactly once per action received for the observation last
published (actions arriving while none is awaited are ignored and counted), and waits
for the camera subscriber and the action publisher to be matched before publishing the
first observation. ``realtime`` steps on a timer at ``rate_hz`` (default: the env's
control rate) with the last action held (``initial_action`` until the first arrives).

Profiles (``profile``; ``auto`` picks ``dclaw`` for dclaw_* environments, ``carla`` for
carla_* ones, else ``generic``, the topics above):

* ``carla``: carla-ros-bridge names for an ego vehicle with role ``role_name`` (driving
  environments only, the embedded ``occluded_pedestrian`` included):
  ``/carla/<role>/rgb_front/image`` and ``.../rgb_front/camera_info`` (the camera),
  ``/carla/<role>/vehicle_control_cmd`` (subscribed; std_msgs/Float32MultiArray
  ``[throttle, steer, brake]`` in CARLA conventions, see :mod:`asymlearn_ros.carla_topics`),
  ``/carla/<role>/odometry`` (nav_msgs/Odometry in the route frame ``odometry_frame``) and
  ``/carla/<role>/speedometer`` (std_msgs/Float32, m/s). The privileged state topics stay.
  ``carla_host``/``carla_port``/``carla_town``/``carla_timeout_s``/``carla_connect_attempts``
  reach the CARLA environment; with no server the node fails at start naming host:port.
* ``dclaw``: additionally ``joint_states`` (sensor_msgs/JointState, the 9 finger joints)
  and joint position targets in radians on ``joint_trajectory``
  (trajectory_msgs/JointTrajectory, last point) and ``joint_commands``
  (std_msgs/Float64MultiArray, JOINT_NAMES order), checked by the D'Claw SafetyLayer
  against the measured positions (``sim_safety``; always on hardware). ``backend:
  hardware`` drives the real claw on ``device`` at ``baudrate`` instead of MuJoCo
  (:mod:`asymlearn_ros.dclaw_hardware_backend`; a missing device fails the start naming it).

Bad commands (wrong type, length or joint names, NaN, out of range, unsafe) are logged
(throttled), counted on ``~/rejected_commands`` (std_msgs/UInt32) and ignored.

Reproducibility: episode i is reset with ``seed + i``. ``~/reset`` (std_srvs/Trigger)
aborts the current episode and starts the next index. ``max_episodes`` > 0 stops
stepping after that many completed episodes (evaluation).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import yaml
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float32, Float32MultiArray, MultiArrayDimension, String, UInt32
from std_srvs.srv import Trigger

from asymlearn_ros.action_messages import VEHICLE_CONTROL, decode_action, message_class, parse_mapping
from asymlearn_ros.carla_topics import carla_topics, odometry_message
from asymlearn_ros.joint_commands import JOINT_COMMAND_CLASSES, joint_state_message, targets_from_message
from asymlearn_ros.node_main import run_node
from asymlearn_ros.ros_image import camera_info_for, to_image_msg
from sim_bridges import registry
from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE
from sim_bridges.dclaw.safety import SafetyLayer, UnsafeCommandError
from sim_bridges.dclaw.spec import (
    JOINT_NAMES,
    NUM_JOINTS,
    RESET_POSE,
    denormalize_action,
    normalize_positions,
)
from sim_bridges.driving.observations import STATE_NAMES as DRIVING_STATE_NAMES

PARAMETERS: dict[str, Any] = {
    "env_name": "tiger_door",
    "env_kwargs": "{}",  # YAML mapping passed to registry.make
    "mode": "lockstep",  # lockstep | realtime
    "seed": 0,
    "max_episodes": 0,  # 0 = unlimited
    "action_message": "auto",  # auto = Int32 (discrete) / Float32MultiArray (continuous)
    "twist_fields": "linear.x=0,angular.z=1",
    "twist_scales": "",
    "frame_id": "camera",
    "rate_hz": 0.0,  # realtime mode; 0 = env control rate
    "camera_qos": "reliable",  # reliable | sensor_data
    "wait_for_peers": True,  # lockstep: wait for the policy before the first observation
    "profile": "auto",  # auto | generic | carla | dclaw (module docstring)
    "role_name": "ego_vehicle",  # carla profile: /carla/<role_name>/...
    "odometry_frame": "route",  # carla profile: frame of the odometry pose
    "carla_host": "",  # carla_* envs; "" / 0 = the env's default (CARLA_HOST / CARLA_PORT)
    "carla_port": 0,
    "carla_town": "",  # "" = keep the server's current map
    "carla_timeout_s": None,  # per connection attempt, s (int or float); unset = env default (10 s)
    "carla_connect_attempts": 0,  # 0 = env default (3)
    "backend": "sim",  # sim | hardware (dclaw profile only)
    "device": "/dev/ttyUSB0",  # hardware: the Dynamixel U2D2 serial device
    "baudrate": 1_000_000,
    "sim_safety": True,  # dclaw sim: joint targets pass the hardware SafetyLayer too
}
PROFILES = ("generic", "carla", "dclaw")
ODOMETRY_FIELDS = ("ego_x", "ego_y", "ego_yaw", "ego_speed")
CARLA_KWARGS = {
    "carla_host": "host",
    "carla_port": "port",
    "carla_town": "town",
    "carla_timeout_s": "timeout_s",
    "carla_connect_attempts": "connect_attempts",
}


def step_label(episode: int, step: int) -> str:
    """The layout label that ties a state message to its image (documented above)."""
    return f"episode={episode};step={step}"


def parse_step_label(label: str) -> tuple[int, int]:
    fields = dict(part.split("=") for part in label.split(";"))
    return int(fields["episode"]), int(fields["step"])


def sim_stamp(step: int, rate_hz: float) -> Time:
    nanos = round(step * 1e9 / rate_hz)
    return Time(sec=nanos // 1_000_000_000, nanosec=nanos % 1_000_000_000)


class SimBridgeNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("sim_bridge", **kwargs)
        self.env: Any = None
        self.hardware: Any = None
        self.rejected = 0
        try:
            for name, default in PARAMETERS.items():
                # None: a number of either type (so "carla_timeout_s=2" works as well as 2.0)
                descriptor = ParameterDescriptor(dynamic_typing=default is None)
                self.declare_parameter(name, default, descriptor)
            self.declare_parameter("initial_action", None, ParameterDescriptor(dynamic_typing=True))
            self._setup()
        except BaseException:
            # No half-open resources: whatever was opened is released before the error propagates.
            self._release()
            super().destroy_node()
            raise

    def _setup(self) -> None:
        p = self.param
        env_name = p("env_name")
        self.profile = resolve_profile(p("profile"), env_name)
        if p("mode") not in ("lockstep", "realtime"):
            raise ValueError(f"mode must be lockstep or realtime, got {p('mode')!r}")
        if p("backend") not in ("sim", "hardware"):
            raise ValueError(f"backend must be sim or hardware, got {p('backend')!r}")
        self.rejected_pub = self.create_publisher(UInt32, "~/rejected_commands", 10)
        if self.profile == "dclaw":
            for type_name, topic in (
                ("trajectory_msgs/JointTrajectory", "joint_trajectory"),
                ("std_msgs/Float64MultiArray", "joint_commands"),
            ):
                self.create_subscription(JOINT_COMMAND_CLASSES[type_name], topic, self._on_joint_command, 10)
        if p("backend") == "hardware":
            self._setup_hardware(env_name)
            return
        self.env = registry.make(env_name, **self._env_kwargs(env_name))
        self.info = self.env.info
        self.discrete = self.info.discrete_actions is not None
        self.lockstep = p("mode") == "lockstep"
        self.twist_fields = parse_mapping(p("twist_fields"))
        self.twist_scales = parse_mapping(p("twist_scales"), "scales")
        if self.profile == "carla" and self.info.state_dim != len(DRIVING_STATE_NAMES):
            raise ValueError(f"profile carla needs a driving environment, {env_name} is not one")
        if self.profile == "dclaw" and tuple(self.info.action_names or ()) != JOINT_NAMES:
            raise ValueError(f"profile dclaw needs a D'Claw environment, {env_name} is not one")
        topics = carla_topics(p("role_name")) if self.profile == "carla" else {}

        camera_qos = QoSProfile(
            depth=10,
            reliability=(
                ReliabilityPolicy.RELIABLE if p("camera_qos") == "reliable" else ReliabilityPolicy.BEST_EFFORT
            ),
        )
        self.image_pub = self.create_publisher(Image, topics.get("image", "image"), camera_qos)
        self.info_pub = self.create_publisher(
            CameraInfo, topics.get("camera_info", "camera_info"), camera_qos
        )
        self.state_pub = self.create_publisher(Float32MultiArray, "~/privileged_state", 10)
        self.partial_pub = self.create_publisher(Float32MultiArray, "~/partial_state", 10)
        self.reward_pub = self.create_publisher(Float32, "~/reward", 10)
        self.end_pub = self.create_publisher(Bool, "~/episode_end", 10)
        self.odom_pub = self.speed_pub = self.joint_pub = None
        if self.profile == "carla":
            self.odom_pub = self.create_publisher(Odometry, topics["odometry"], 10)
            self.speed_pub = self.create_publisher(Float32, topics["speedometer"], 10)
        if self.profile == "dclaw":
            self.joint_pub = self.create_publisher(JointState, "joint_states", 10)
            self.safety = SafetyLayer() if p("sim_safety") else None
        latched = QoSProfile(
            depth=1000, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self.summary_pub = self.create_publisher(String, "~/episode_summary", latched)
        msg_name = p("action_message")
        if msg_name in ("", "auto"):
            msg_name = (
                "std_msgs/Int32"
                if self.discrete
                else VEHICLE_CONTROL
                if self.profile == "carla"
                else "std_msgs/Float32MultiArray"
            )
        self.vehicle_control = msg_name == VEHICLE_CONTROL
        self.action_sub = self.create_subscription(
            message_class(msg_name), topics.get("action", "action"), self._on_action, 10
        )
        self.create_service(Trigger, "~/reset", self._on_reset)

        self.episode = -1
        self.step_index = 0
        self.episode_return = 0.0
        self.completed = 0
        self.awaiting = False
        self.finished = False
        self.ignored_actions = 0
        self.obs: dict[str, np.ndarray] | None = None
        self.held_action = self._initial_action()
        rate = float(p("rate_hz")) or self.info.control_rate_hz
        self.rate = self.info.control_rate_hz
        self.timer = self.create_timer(0.02 if self.lockstep else 1.0 / rate, self._on_timer)
        self.get_logger().info(
            f"sim bridge ready: {self.info.name} ({p('mode')}, {self.info.image_encoding} "
            f"{self.info.image_shape[1]}x{self.info.image_shape[0]}, actions {msg_name}, seed {p('seed')}, "
            f"profile {self.profile})"
        )

    def _env_kwargs(self, env_name: str) -> dict[str, Any]:
        """``env_kwargs`` (YAML mapping) plus the carla_* parameters that are set."""
        kwargs = yaml.safe_load(self.param("env_kwargs") or "{}") or {}
        if not isinstance(kwargs, dict):
            raise ValueError(f"env_kwargs must be a YAML mapping, got {self.param('env_kwargs')!r}")
        carla = {key: self.param(name) for name, key in CARLA_KWARGS.items() if self.param(name)}
        if "timeout_s" in carla:
            carla["timeout_s"] = float(carla["timeout_s"])
        if carla and not env_name.startswith("carla_"):
            # Lets the CARLA launch file run the embedded scenario with one override (env_name).
            self.get_logger().warning(f"{env_name} is not a CARLA environment: carla_* parameters ignored")
            return kwargs
        return {**kwargs, **carla}

    def _setup_hardware(self, env_name: str) -> None:
        from asymlearn_ros.dclaw_hardware_backend import DClawHardwareBackend

        if self.profile != "dclaw":
            raise ValueError(f"backend hardware exists for the D'Claw only (profile dclaw), not {env_name}")
        p = self.param
        rate = float(p("rate_hz")) or 10.0
        self.hardware = DClawHardwareBackend(self, p("device"), int(p("baudrate")), rate, self._reject)
        self.create_subscription(Float32MultiArray, "action", self._on_hardware_action, 10)
        self.get_logger().info(
            f"sim bridge ready: D'Claw hardware on {p('device')} at {p('baudrate')} baud, joint states at "
            f"{rate:g} Hz, profile dclaw"
        )

    def param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _initial_action(self) -> int | np.ndarray:
        value = self.param("initial_action")
        if self.discrete:
            return int(value[0]) if value else 0
        vector = np.zeros(self.info.action_dim, np.float32)
        if value:
            vector[:] = value
        elif self.profile == "dclaw":  # hold the reset pose: zeros would press the fingers into the valve
            vector[:] = normalize_positions(RESET_POSE)
        return vector

    # --- episodes ---------------------------------------------------------------------
    def _start_episode(self) -> None:
        self.episode += 1
        seed = int(self.param("seed")) + self.episode
        self.obs, _ = self.env.reset(seed=seed)
        self.step_index = 0
        self.episode_return = 0.0
        self._publish_observation()

    def _publish_observation(self) -> None:
        assert self.obs is not None
        stamp = sim_stamp(self.step_index, self.rate)
        image = to_image_msg(self.obs[IMAGE], self.info.image_encoding, self.param("frame_id"), stamp)
        label = step_label(self.episode, self.step_index)
        for pub, key in ((self.state_pub, STATE), (self.partial_pub, PARTIAL_STATE)):
            if key in self.obs:
                pub.publish(_labelled_array(self.obs[key], label))
        self.info_pub.publish(camera_info_for(image))
        self._publish_profile_state(self.obs[STATE], stamp)
        self.awaiting = self.lockstep
        self.image_pub.publish(image)

    def _publish_profile_state(self, state: np.ndarray, stamp: Time) -> None:
        """Odometry + speedometer (carla) or JointState (dclaw) of the step, from the state vector."""
        if self.odom_pub is not None:
            x, y, yaw, speed = (float(state[DRIVING_STATE_NAMES.index(n)]) for n in ODOMETRY_FIELDS)
            frame, child = self.param("odometry_frame"), self.param("role_name")
            self.odom_pub.publish(odometry_message(x, y, yaw, speed, stamp, frame, child))
            self.speed_pub.publish(Float32(data=speed))
        if self.joint_pub is not None:
            positions, velocities = state[:NUM_JOINTS], state[NUM_JOINTS : 2 * NUM_JOINTS]
            self.joint_pub.publish(joint_state_message(JOINT_NAMES, positions, velocities, stamp))

    def _end_episode(self, terminated: bool, success: bool, aborted: bool = False) -> None:
        seed = int(self.param("seed")) + self.episode
        summary = {
            "episode": self.episode,
            "seed": seed,
            "return": self.episode_return,
            "length": self.step_index,
            "success": success,
            "terminated": terminated,
            "aborted": aborted,
        }
        if not aborted:
            self.end_pub.publish(Bool(data=terminated))
            self.completed += 1
        self.summary_pub.publish(String(data=json.dumps(summary)))
        self.get_logger().info(
            f"episode {self.episode} (seed {seed}): return {self.episode_return:.4f} "
            f"length {self.step_index} "
            f"success {str(success).lower()}{' (aborted)' if aborted else ''}"
        )
        limit = int(self.param("max_episodes"))
        if limit and self.completed >= limit:
            self.finished = True
            self.awaiting = False
            self.get_logger().info(f"evaluation finished: {self.completed} episodes")

    def _step(self, action: int | np.ndarray) -> None:
        self.obs, reward, terminated, truncated, info = self.env.step(action)
        self.step_index += 1
        self.episode_return += float(reward)
        self.reward_pub.publish(Float32(data=float(reward)))
        if terminated or truncated:
            self._end_episode(bool(terminated), bool(info.get("success", False)))
            if not self.finished:
                self._start_episode()
        else:
            self._publish_observation()

    # --- callbacks --------------------------------------------------------------------
    def _on_timer(self) -> None:
        if self.finished:
            return
        if self.lockstep:
            if self.episode >= 0:
                return
            if self.param("wait_for_peers") and (
                self.image_pub.get_subscription_count() == 0 or self.action_sub.get_publisher_count() == 0
            ):
                return
            self._start_episode()
            return
        if self.episode < 0:
            self._start_episode()
        else:
            self._step(self.held_action)

    def _on_action(self, msg: Any) -> None:
        try:
            action = decode_action(
                msg,
                self.discrete,
                self.info.action_dim,
                self.twist_fields,
                self.twist_scales,
                vehicle_control=self.vehicle_control,
            )
            if self.discrete and not 0 <= action < self.info.discrete_actions:
                raise ValueError(f"action index {action} outside 0..{self.info.discrete_actions - 1}")
        except ValueError as exc:
            self._reject("action", exc)
            return
        self._take_action(action)

    def _on_joint_command(self, msg: Any) -> None:
        """Joint position targets (rad) -> hardware, or -> the sim's normalised action."""
        try:
            targets = targets_from_message(msg, JOINT_NAMES)
            if self.hardware is not None:
                self.hardware.command(targets)
                return
            if self.obs is None:
                raise ValueError("no episode running yet")
            if self.safety is not None:
                targets = self.safety.check(targets, self.obs[STATE][:NUM_JOINTS]).targets
        except ValueError as exc:  # UnsafeCommandError is a ValueError
            kind = "unsafe joint command" if isinstance(exc, UnsafeCommandError) else "joint command"
            self._reject(kind, exc)
            return
        self._take_action(np.clip(normalize_positions(targets), -1.0, 1.0).astype(np.float32))

    def _on_hardware_action(self, msg: Float32MultiArray) -> None:
        """A normalised policy action on the real claw: the sim's mapping, then the safety layer."""
        try:
            action = decode_action(msg, False, NUM_JOINTS)
        except ValueError as exc:
            self._reject("action", exc)
            return
        self.hardware.command(denormalize_action(action))

    def _reject(self, what: str, exc: Exception) -> None:
        """Log (throttled), count and publish the count; the command is ignored."""
        self.rejected += 1
        self.rejected_pub.publish(UInt32(data=self.rejected))
        self.get_logger().warning(
            f"{what} ignored ({self.rejected} rejected so far): {exc}", throttle_duration_sec=1.0
        )

    def _take_action(self, action: int | np.ndarray) -> None:
        if not self.lockstep:
            self.held_action = action
            return
        if not self.awaiting or self.finished:
            self.ignored_actions += 1
            self.get_logger().debug(f"action ignored: no observation awaiting one ({self.ignored_actions})")
            return
        self.awaiting = False
        self._step(action)

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self.episode >= 0 and not self.finished:
            self._end_episode(False, False, aborted=True)
        self.finished = False
        self._start_episode()
        response.success = True
        response.message = f"episode {self.episode} seed {int(self.param('seed')) + self.episode}"
        return response

    def _release(self) -> None:
        for resource in (self.env, self.hardware):
            if resource is not None:
                resource.close()
        self.env = self.hardware = None

    def destroy_node(self) -> None:
        self._release()
        super().destroy_node()


def resolve_profile(profile: str, env_name: str) -> str:
    """``auto`` -> dclaw / carla / generic from the environment name; others are checked."""
    if profile == "auto":
        return (
            "dclaw"
            if env_name.startswith("dclaw")
            else "carla"
            if env_name.startswith("carla")
            else "generic"
        )
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of auto, {', '.join(PROFILES)}; got {profile!r}")
    return profile


def _labelled_array(values: np.ndarray, label: str) -> Float32MultiArray:
    msg = Float32MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=label, size=int(values.size), stride=int(values.size))]
    msg.data = np.asarray(values, np.float32).reshape(-1)
    return msg


def main(args: list[str] | None = None) -> None:
    run_node(SimBridgeNode, "sim bridge", args)


if __name__ == "__main__":
    main()
