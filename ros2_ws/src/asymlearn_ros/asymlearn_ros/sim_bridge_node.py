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

Reproducibility: episode i is reset with ``seed + i``. ``~/reset`` (std_srvs/Trigger)
aborts the current episode and starts the next index. ``max_episodes`` > 0 stops
stepping after that many completed episodes (evaluation).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import rclpy
import yaml
from builtin_interfaces.msg import Time
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Bool, Float32, Float32MultiArray, MultiArrayDimension, String
from std_srvs.srv import Trigger

from asymlearn_ros.action_messages import MESSAGE_CLASSES, decode_action, parse_mapping
from asymlearn_ros.ros_image import camera_info_for, to_image_msg
from sim_bridges import registry
from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE

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
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        self.declare_parameter("initial_action", None, ParameterDescriptor(dynamic_typing=True))
        p = self.param
        kwargs_yaml = yaml.safe_load(p("env_kwargs") or "{}") or {}
        if not isinstance(kwargs_yaml, dict):
            raise ValueError(f"env_kwargs must be a YAML mapping, got {p('env_kwargs')!r}")
        self.env = registry.make(p("env_name"), **kwargs_yaml)
        self.info = self.env.info
        self.discrete = self.info.discrete_actions is not None
        self.lockstep = p("mode") == "lockstep"
        if p("mode") not in ("lockstep", "realtime"):
            raise ValueError(f"mode must be lockstep or realtime, got {p('mode')!r}")
        self.twist_fields = parse_mapping(p("twist_fields"))
        self.twist_scales = parse_mapping(p("twist_scales"), "scales")

        camera_qos = QoSProfile(
            depth=10,
            reliability=(
                ReliabilityPolicy.RELIABLE if p("camera_qos") == "reliable" else ReliabilityPolicy.BEST_EFFORT
            ),
        )
        self.image_pub = self.create_publisher(Image, "image", camera_qos)
        self.info_pub = self.create_publisher(CameraInfo, "camera_info", camera_qos)
        self.state_pub = self.create_publisher(Float32MultiArray, "~/privileged_state", 10)
        self.partial_pub = self.create_publisher(Float32MultiArray, "~/partial_state", 10)
        self.reward_pub = self.create_publisher(Float32, "~/reward", 10)
        self.end_pub = self.create_publisher(Bool, "~/episode_end", 10)
        latched = QoSProfile(
            depth=1000, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self.summary_pub = self.create_publisher(String, "~/episode_summary", latched)
        msg_name = p("action_message")
        if msg_name in ("", "auto"):
            msg_name = "std_msgs/Int32" if self.discrete else "std_msgs/Float32MultiArray"
        self.action_sub = self.create_subscription(MESSAGE_CLASSES[msg_name], "action", self._on_action, 10)
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
            f"{self.info.image_shape[1]}x{self.info.image_shape[0]}, actions {msg_name}, seed {p('seed')})"
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
        self.awaiting = self.lockstep
        self.image_pub.publish(image)

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
                msg, self.discrete, self.info.action_dim, self.twist_fields, self.twist_scales
            )
        except ValueError as exc:
            self.get_logger().warning(f"action ignored: {exc}", throttle_duration_sec=1.0)
            return
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

    def destroy_node(self) -> None:
        self.env.close()
        super().destroy_node()


def _labelled_array(values: np.ndarray, label: str) -> Float32MultiArray:
    msg = Float32MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=label, size=int(values.size), stride=int(values.size))]
    msg.data = np.asarray(values, np.float32).reshape(-1)
    return msg


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = SimBridgeNode()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
