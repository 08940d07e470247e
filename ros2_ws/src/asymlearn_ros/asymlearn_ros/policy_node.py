"""ONNX policy node: camera image in, action out, as a managed (lifecycle) node.

Why lifecycle: loading and validating a model is the step that can fail, so it is the
``configure`` transition, refused with a clear error when the model cannot be fed from
the configured camera (encoding/size via :func:`policies.runtime.check_compatible`).
``activate`` starts the image subscription and the action output, ``deactivate`` stops
them. The ros2 lifecycle CLI is unavailable from the pip wheels, so ``autostart:=true``
configures and activates on start (the standard ``~/change_state`` services work too).

Episode boundaries: the frame window and recurrent state (kept by
:class:`policies.runtime.PolicyRunner`) are reset by a message on ``reset_topic``
(std_msgs/Empty, or std_msgs/Bool with data true), by an image stamp that goes
backwards (``reset_on_time_jump``), and, for simulators that restart their clock per
episode, by a zero stamp (``episode_start_on_zero_stamp``, atomic with the image, which
is why the sim launch files use it rather than a separate topic).

Safety: a watchdog publishes ``safe_action`` every ``watchdog_timeout_s`` while no image
arrives, once the first image since activation has come (before it the robot has not been
driven by this node; a safe action racing the first image would take its place in a lockstep
simulation); malformed images are logged (throttled) and dropped, never raised.

Delivery: DDS discovery is not symmetric. The simulator bridge may already see this node's
action publisher while the publisher has not yet matched the bridge's subscription; an action
written then is lost (volatile QoS), and a lockstep bridge would wait for it forever. So while
the action publisher has no subscriber, the latest action is held and published when one
matches, unless it is older than ``hold_action_until_matched_s`` (<= 0 disables holding).
"""

from __future__ import annotations

import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.event_handler import PublisherEventCallbacks, QoSPublisherMatchedInfo
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Empty
from std_srvs.srv import Trigger

from asymlearn_ros.action_messages import VEHICLE_CONTROL, ActionEncoder, resolve_mapping
from asymlearn_ros.diagnostics import ERROR, OK, WARN, LatencyWindow, RateMeter, diagnostic_array
from asymlearn_ros.node_main import run_node
from asymlearn_ros.ros_image import image_from_msg
from policies.image_convert import ImageFormatError
from policies.runtime import PolicyRunner, check_compatible

PARAMETERS: dict[str, Any] = {
    "model_path": "",
    "image_topic": "image",
    "action_topic": "action",
    "action_message": "auto",  # auto | std_msgs/Int32 | ... | vehicle_control (action_messages.py)
    "twist_fields": "",  # e.g. "linear.x=1,angular.z=0" (overrides the model's mapping)
    "twist_scales": "",  # e.g. "linear.x=0.5"
    "qos": "sensor_data",  # sensor_data (best effort) | reliable
    "qos_depth": 5,
    "device": "cpu",  # cpu | cuda | auto
    "intra_op_threads": 1,
    "image_encoding": "",  # expected camera encoding; "" = not known until the first image
    "image_height": 0,
    "image_width": 0,
    "allow_mono_to_color": False,
    "watchdog_timeout_s": 0.5,  # <= 0 disables the watchdog
    "diagnostics_period_s": 1.0,  # <= 0 disables diagnostics
    "autostart": False,
    "reset_topic": "",  # "" = no reset subscription
    "reset_message": "Empty",  # Empty | Bool
    "reset_on_time_jump": True,
    "episode_start_on_zero_stamp": False,
    "hold_action_until_matched_s": 1.0,  # see "Delivery" above; <= 0 disables
}


class LoadedPolicy:
    """A model that passed every configure-time check, with its message encoder."""

    def __init__(self, node: PolicyNode, path: str) -> None:
        if not path:
            raise ValueError("parameter model_path is empty")
        p = node.param
        self.runner = PolicyRunner(
            path,
            device=p("device"),
            intra_op_threads=p("intra_op_threads"),
            allow_mono_to_color=p("allow_mono_to_color"),
        )
        meta = self.runner.metadata
        encoding = p("image_encoding")
        if encoding:
            height, width = p("image_height") or None, p("image_width") or None
            compat = check_compatible(meta, encoding, height, width, p("allow_mono_to_color"))
            self.conversion = (
                ", ".join(filter(None, [compat.convert, compat.resize, *compat.notes])) or "none"
            )
        else:
            self.conversion = "decided at the first image"
        vehicle = p("action_message") == VEHICLE_CONTROL  # carla-ros-bridge style [throttle, steer, brake]
        message = "std_msgs/Float32MultiArray" if vehicle else p("action_message")
        spec = resolve_mapping(meta.action, message, p("twist_fields"), p("twist_scales"))
        self.encoder = ActionEncoder(spec, vehicle_control=vehicle)
        self.safe_msg = self.encoder.safe(node.safe_action())
        self.path = path

    def describe(self) -> str:
        m = self.runner.metadata
        obs = m.observation
        return (
            f"{self.path}: {obs.encoding} {obs.width}x{obs.height} window {obs.frame_window} -> "
            f"{m.action.kind}[{m.action.size}] as {self.encoder.type_name}, provider {self.runner.provider}, "
            f"conversion {self.conversion}"
        )


class PolicyNode(LifecycleNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("policy_node", **kwargs)
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        self.declare_parameter("safe_action", None, ParameterDescriptor(dynamic_typing=True))
        self.policy: LoadedPolicy | None = None
        self._action_pub = None
        self._diag_pub = None
        self._diag_timer = None
        self._watchdog = None
        self._image_sub = None
        self._reset_sub = None
        self._active = False
        self._watchdog_timeout = 0.0
        self._zero_stamp_reset = False
        self._jump_reset = True
        self._hold_s = 0.0
        self._last_image: float | None = None  # monotonic time of the last image since activation
        self._last_safe = 0.0
        self._last_stamp: int | None = None
        self._frames = 0
        self._dropped = 0
        self._watchdog_fired = 0
        self._held: tuple[Any, float] | None = None  # (action message, monotonic time) awaiting a subscriber
        self._held_delivered = 0
        self._held_expired = 0
        self._callback_latency = LatencyWindow()
        self._rate = RateMeter()
        self.create_service(Trigger, "~/reload_model", self._on_reload)
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # --- parameters -------------------------------------------------------------------
    def param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def safe_action(self) -> list[float]:
        value = self.param("safe_action")
        return [] if value is None else [float(v) for v in value]

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Setting model_path on a configured node loads the new model, or is refused."""
        for param in params:
            if param.name == "model_path" and self.policy is not None:
                ok, message = self._swap_model(str(param.value))
                if not ok:
                    return SetParametersResult(successful=False, reason=message)
        return SetParametersResult(successful=True)

    # --- lifecycle --------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.policy = LoadedPolicy(self, self.param("model_path"))
        except Exception as exc:  # any failure here is a refused configuration, not a crash
            self.get_logger().error(f"configure refused: {type(exc).__name__}: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._action_pub = self.create_lifecycle_publisher(
            self.policy.encoder.msg_class,
            self.param("action_topic"),
            10,
            event_callbacks=PublisherEventCallbacks(matched=self._on_action_matched),
        )
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        period = float(self.param("diagnostics_period_s"))
        if period > 0:
            self._diag_timer = self.create_timer(period, self._publish_diagnostics)
        topic = self.param("reset_topic")
        if topic:
            msg_type = Bool if self.param("reset_message") == "Bool" else Empty
            self._reset_sub = self.create_subscription(msg_type, topic, self._on_reset, 10)
        self.get_logger().info(f"configured: {self.policy.describe()}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self.param("qos") == "reliable":
            qos = QoSProfile(depth=self.param("qos_depth"), reliability=ReliabilityPolicy.RELIABLE)
        else:
            qos = QoSProfile(
                depth=self.param("qos_depth"),
                reliability=qos_profile_sensor_data.reliability,
                durability=qos_profile_sensor_data.durability,
            )
        self._image_sub = self.create_subscription(Image, self.param("image_topic"), self._on_image, qos)
        timeout = self._watchdog_timeout = float(self.param("watchdog_timeout_s"))
        # Flags read on every image: cached here, parameters are not looked up per message.
        self._zero_stamp_reset = bool(self.param("episode_start_on_zero_stamp"))
        self._jump_reset = bool(self.param("reset_on_time_jump"))
        self._hold_s = float(self.param("hold_action_until_matched_s"))
        self._last_image, self._last_safe = None, time.monotonic()
        if timeout > 0:
            self._watchdog = self.create_timer(max(timeout / 5.0, 0.005), self._on_watchdog)
        self._active = True
        result = super().on_activate(state)
        self.get_logger().info(
            f"policy node active: {self.param('image_topic')} -> {self.param('action_topic')}"
        )
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = False
        self._held = None
        if self._image_sub is not None:
            self.destroy_subscription(self._image_sub)
            self._image_sub = None
        if self._watchdog is not None:
            self.destroy_timer(self._watchdog)
            self._watchdog = None
        self.get_logger().info("policy node inactive")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._teardown()
        self.get_logger().info("policy node cleaned up")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._active:
            self.on_deactivate(state)
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def _teardown(self) -> None:
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
        if self._reset_sub is not None:
            self.destroy_subscription(self._reset_sub)
        if self._action_pub is not None:
            self.destroy_lifecycle_publisher(self._action_pub)
        if self._diag_pub is not None:
            self.destroy_publisher(self._diag_pub)
        self._diag_timer = self._reset_sub = self._action_pub = self._diag_pub = None
        self.policy = None

    # --- hot path ---------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        start = time.perf_counter()
        self._last_image = time.monotonic()
        policy = self.policy
        if policy is None or not self._active:
            return
        try:
            image = image_from_msg(msg)
        except ImageFormatError as exc:
            self._drop(f"malformed image dropped: {exc}")
            return
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        last, self._last_stamp = self._last_stamp, stamp
        zero_restart = stamp == 0 and self._zero_stamp_reset
        if last is not None and (zero_restart or (stamp < last and self._jump_reset)):
            policy.runner.reset()
        try:
            action = policy.runner.act(image, msg.encoding)
        except ImageFormatError as exc:
            self._drop(f"image refused: {exc}")
            return
        except Exception as exc:  # an inference failure must not kill the control loop
            self._drop(f"inference failed: {type(exc).__name__}: {exc}")
            return
        self._publish_action(policy.encoder.encode(action))
        self._frames += 1
        self._rate.tick()
        self._callback_latency.record(time.perf_counter() - start)

    def _publish_action(self, msg: Any) -> None:
        """Publish, or hold while no subscriber has matched (module docstring, "Delivery")."""
        if self._hold_s > 0 and self._action_pub.get_subscription_count() == 0:
            self._held = (msg, time.monotonic())
            return
        self._held = None
        self._action_pub.publish(msg)

    def _on_action_matched(self, info: QoSPublisherMatchedInfo) -> None:
        if self._held is None or info.current_count == 0:
            return
        (msg, since), self._held = self._held, None
        age = time.monotonic() - since
        if not self._active:
            return
        if age > self._hold_s:
            self._held_expired += 1
            self.get_logger().warning(
                f"held action not sent: a subscriber matched {age:.2f} s after it was computed "
                f"(hold_action_until_matched_s {self._hold_s})"
            )
            return
        self._action_pub.publish(msg)
        self._held_delivered += 1
        self.get_logger().info(f"action held {age * 1000:.0f} ms until a subscriber matched, then sent")

    def _drop(self, message: str) -> None:
        self._dropped += 1
        self.get_logger().warning(f"{message} ({self._dropped} dropped so far)", throttle_duration_sec=1.0)

    def _on_reset(self, msg: Empty | Bool) -> None:
        if isinstance(msg, Bool) and not msg.data:
            return
        if self.policy is not None:
            self.policy.runner.reset()
            self._last_stamp = None
            self.get_logger().info("episode start: frame window and recurrent state reset")

    def _on_watchdog(self) -> None:
        now = time.monotonic()
        timeout = self._watchdog_timeout
        if self.policy is None or self._last_image is None:
            return
        if now - self._last_image < timeout or now - self._last_safe < timeout:
            return
        self._last_safe = now
        self._watchdog_fired += 1
        self._action_pub.publish(self.policy.safe_msg)
        self.get_logger().warning(
            f"watchdog: no image for {now - self._last_image:.2f} s, published the safe action",
            throttle_duration_sec=5.0,
        )

    # --- model reload -----------------------------------------------------------------
    def _swap_model(self, path: str) -> tuple[bool, str]:
        """Load ``path``; on success replace the running model, on failure keep it."""
        old = self.policy
        try:
            new = LoadedPolicy(self, path)
        except Exception as exc:
            message = f"reload of {path!r} failed, keeping {old.path if old else 'no model'}: {exc}"
            self.get_logger().error(message)
            return False, message
        if old is not None and new.encoder.msg_class is not old.encoder.msg_class:
            return (
                False,
                f"reload refused: {path} publishes {new.encoder.type_name}, the topic carries "
                f"{old.encoder.type_name} (cleanup and configure instead)",
            )
        self.policy = new
        self._last_stamp = None
        self.get_logger().info(f"model reloaded: {new.describe()}")
        return True, f"loaded {path}"

    def _on_reload(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self.policy is None:
            response.success, response.message = False, "node is not configured"
        else:
            response.success, response.message = self._swap_model(self.param("model_path"))
        return response

    # --- diagnostics ------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        policy = self.policy
        if policy is None or self._diag_pub is None:
            return
        inference = policy.runner.latency_stats()
        callback = self._callback_latency.stats_ms()
        last = self._last_image
        timeout = self._watchdog_timeout  # <= 0: watchdog off, silence is not reported as a fault
        stale = self._active and last is not None and timeout > 0 and time.monotonic() - last > timeout
        if self._active and last is None:
            level, message = WARN, "waiting for the first image"
        else:
            level, message = (
                (WARN, "no images (watchdog)") if stale else (OK, "running" if self._active else "inactive")
            )
        if not self._active and self._frames == 0:
            level = OK
        values = {
            "inference_mean_ms": inference.get("mean", 0.0),
            "inference_p99_ms": inference.get("p99", 0.0),
            "callback_mean_ms": callback["mean"],
            "callback_p99_ms": callback["p99"],
            "rate_hz": self._rate.read(),
            "frames": self._frames,
            "frames_dropped": self._dropped,
            "watchdog_fired": self._watchdog_fired,
            "held_actions_delivered": self._held_delivered,
            "held_actions_expired": self._held_expired,
            "provider": policy.runner.provider,
            "model_path": policy.path,
        }
        self._diag_pub.publish(
            diagnostic_array(
                self.get_clock().now().to_msg(),
                f"asymlearn policy: {self.get_fully_qualified_name()}",
                policy.path,
                level if self.policy else ERROR,
                message,
                values,
            )
        )


def autostart(node: PolicyNode) -> bool:
    """Configure and activate when ``autostart`` is set; False (after a FATAL line) if either fails."""
    if not node.param("autostart"):
        return True
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().fatal("autostart: configure failed (see above); exiting")
        return False
    if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().fatal("autostart: activate failed; exiting")
        return False
    return True


def main(args: list[str] | None = None) -> None:
    run_node(PolicyNode, "policy node", args, start=autostart)


if __name__ == "__main__":
    main()
