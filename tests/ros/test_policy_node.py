"""The policy node in its own process: bad images, encodings, configure checks, watchdog, reload."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Empty, Int32
from std_srvs.srv import Trigger

from asymlearn_ros.ros_image import to_image_msg
from policies.runtime import PolicyRunner
from training.ros_launch import NodeProcess

pytestmark = pytest.mark.ros

RELIABLE = {"qos": "reliable", "qos_depth": 50}


def start_policy_node(ros_env: dict[str, str], model: Path | str, **params: Any) -> NodeProcess:
    values = {"model_path": str(model), "autostart": True, "watchdog_timeout_s": 0.0, **params}
    args = ["--ros-args"]
    for key, value in values.items():
        args += ["-p", f"{key}:={json.dumps(value) if not isinstance(value, str) else value}"]
    return NodeProcess("asymlearn_ros.policy_node", args, env=ros_env).start()


def frame(height: int, width: int, channels: int, seed: int, dtype: type = np.uint8) -> np.ndarray:
    high = 65535 if dtype == np.uint16 else 255
    return (
        np.random.default_rng(seed).integers(0, high, (height, width, channels), endpoint=True).astype(dtype)
    )


def first_action(probe, pub, msg, actions: list, timeout: float = 15.0) -> Any:
    """Publish ``msg`` until an action comes back (covers discovery), return that action."""
    assert probe.spin_until(lambda: bool(actions), timeout, each=lambda: pub.publish(msg), period=0.1), (
        "no action from the policy node"
    )
    return actions[-1]


def test_bad_images_are_dropped_and_the_node_keeps_working(ros_env, probe, models) -> None:
    node = start_policy_node(ros_env, models["mono84"], **RELIABLE)
    try:
        assert node.wait_for_output("policy node active"), node.output()
        pub = probe.node.create_publisher(Image, "image", 50)
        actions = probe.collect(Int32, "action")
        good = to_image_msg(frame(84, 84, 1, 0), "mono8")
        first_action(probe, pub, good, actions)
        probe.spin_until(lambda: False, 0.3)  # drain duplicates from the discovery phase
        before = len(actions)

        bad: list[Image] = []
        short = to_image_msg(frame(84, 84, 1, 1), "mono8")
        short.data = bytes(short.data)[:-7]  # data length != step * height
        bad.append(short)
        narrow = to_image_msg(frame(84, 84, 3, 2), "rgb8")
        narrow.step = 84  # step < width * channels
        bad.append(narrow)
        unknown = to_image_msg(frame(84, 84, 3, 3), "rgb8")
        unknown.encoding = "yuv422_weird"
        bad.append(unknown)
        empty = Image(height=0, width=0, encoding="mono8", step=0, data=b"")
        bad.append(empty)
        zero_width = Image(height=10, width=0, encoding="mono8", step=0, data=b"")
        bad.append(zero_width)
        for msg in bad:
            pub.publish(msg)
        probe.spin_until(lambda: False, 0.5)
        assert len(actions) == before, "a malformed image produced an action"
        assert node.alive(), node.output()
        pub.publish(good)
        assert probe.spin_until(lambda: len(actions) == before + 1, 5.0), (
            "node stopped acting after bad images"
        )
        out = node.output()
        assert "malformed image dropped" in out, out
        assert "Traceback" not in out, out
    finally:
        node.stop()


@pytest.mark.parametrize("size", [(84, 84), (120, 160)])
def test_every_supported_encoding_gives_the_in_process_action(ros_env, probe, models, size) -> None:
    runner = PolicyRunner(models["mono84"])
    node = start_policy_node(ros_env, models["mono84"], **RELIABLE)
    try:
        assert node.wait_for_output("policy node active"), node.output()
        pub = probe.node.create_publisher(Image, "image", 50)
        actions = probe.collect(Int32, "action")
        first_action(probe, pub, to_image_msg(frame(*size, 1, 99), "mono8"), actions)
        probe.spin_until(lambda: False, 0.3)
        cases = [
            ("rgb8", 3, np.uint8),
            ("bgr8", 3, np.uint8),
            ("rgba8", 4, np.uint8),
            ("bgra8", 4, np.uint8),
            ("mono8", 1, np.uint8),
            ("mono16", 1, np.uint16),
        ]
        for seed, (encoding, channels, dtype) in enumerate(cases):
            image = frame(*size, channels, seed, dtype)
            count = len(actions)
            pub.publish(to_image_msg(image, encoding))
            assert probe.spin_until(lambda c=count: len(actions) > c, 5.0), f"no action for {encoding}"
            runner.reset()
            assert actions[-1].data == runner.act(image, encoding), encoding
        assert node.alive()
    finally:
        node.stop()


def test_incompatible_camera_is_refused_at_configure(ros_env, probe, models) -> None:
    # An rgb8 colour policy cannot be fed from a mono8 camera: configure must fail cleanly.
    node = start_policy_node(ros_env, models["grid_a"], autostart=False, image_encoding="mono8")
    try:
        request = ChangeState.Request()
        request.transition.id = Transition.TRANSITION_CONFIGURE
        response = probe.call(ChangeState, "/policy_node/change_state", request, timeout=15.0)
        assert not response.success
        state = probe.call(GetState, "/policy_node/get_state", GetState.Request())
        assert state.current_state.label == "unconfigured"
        assert node.wait_for_output("configure refused"), node.output()
        assert "expects colour" in node.output()
        assert node.alive()
    finally:
        node.stop()
    # The same mismatch with autostart makes the process exit non-zero (deploy reports it).
    node = start_policy_node(ros_env, models["grid_a"], image_encoding="mono8")
    try:
        node.proc.wait(timeout=20)
        assert node.proc.returncode == 1, node.output()
    finally:
        node.stop()


def test_watchdog_publishes_the_safe_action_and_diagnostics_report(ros_env, probe, models) -> None:
    timeout = 0.4
    node = start_policy_node(
        ros_env,
        models["twist"],
        watchdog_timeout_s=timeout,
        safe_action=[0.25, -0.5],
        diagnostics_period_s=0.2,
        **RELIABLE,
    )
    try:
        assert node.wait_for_output("policy node active"), node.output()
        pub = probe.node.create_publisher(Image, "image", 50)
        twists = probe.collect(Twist, "action")
        diagnostics = probe.collect(DiagnosticArray, "/diagnostics")
        # Keep images flowing (faster than the timeout) until the policy answers.
        image = to_image_msg(frame(84, 84, 1, 5), "mono8")
        first_action(probe, pub, image, twists)
        for _ in range(5):
            pub.publish(image)
            probe.spin_until(lambda: False, 0.05)
        stopped = time.monotonic()
        count = len(twists)

        def safe_seen() -> bool:
            return any(t.linear.x == 0.25 and t.angular.z == -0.5 for t in twists[count:])

        assert probe.spin_until(safe_seen, timeout + 1.0), "watchdog did not publish the safe action"
        delay = time.monotonic() - stopped
        assert delay <= timeout + 0.3, f"safe action after {delay:.2f} s, timeout {timeout} s"

        def values() -> dict[str, str]:
            return {kv.key: kv.value for kv in diagnostics[-1].status[0].values} if diagnostics else {}

        # A report issued after the watchdog fired (earlier ones may predate it).
        assert probe.spin_until(lambda: int(values().get("watchdog_fired", 0)) >= 1, 3.0), values()
        report = values()
        for key in ("inference_mean_ms", "inference_p99_ms", "rate_hz", "frames_dropped", "provider"):
            assert key in report, report
        assert report["provider"] == "CPUExecutionProvider"
        # A late image (DDS under load) may bring the status back to "running" before the next
        # report; the watchdog then fires again, so a watchdog report must still follow.
        assert probe.spin_until(lambda: diagnostics[-1].status[0].message == "no images (watchdog)", 3.0), (
            diagnostics[-1].status[0].message
        )
    finally:
        node.stop()


def _string_param(name: str, value: str) -> Parameter:
    return Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value))


def test_reload_swaps_a_good_model_and_keeps_the_old_one_on_failure(ros_env, probe, models, tmp_path) -> None:
    runner_a, runner_b = PolicyRunner(models["grid_a"]), PolicyRunner(models["grid_b"])
    # Images where the two models disagree, so the test sees which one is running.
    images = []
    for seed in range(200):
        image = frame(42, 42, 3, seed)
        runner_a.reset()
        runner_b.reset()
        if runner_a.act(image, "rgb8") != runner_b.act(image, "rgb8"):
            images.append(image)
        if len(images) == 3:
            break
    assert len(images) == 3
    node = start_policy_node(ros_env, models["grid_a"], **RELIABLE, reset_topic="episode_start")
    try:
        assert node.wait_for_output("policy node active"), node.output()
        pub = probe.node.create_publisher(Image, "image", 50)
        actions = probe.collect(Int32, "action")
        reset_pub = probe.node.create_publisher(Empty, "episode_start", 10)

        def act(image: np.ndarray) -> int:
            # Episode start before each image: both windows hold just that image.
            reset_pub.publish(Empty())
            probe.spin_until(lambda: False, 0.1)
            count = len(actions)
            pub.publish(to_image_msg(image, "rgb8"))
            assert probe.spin_until(lambda: len(actions) > count, 5.0)
            return actions[-1].data

        first_action(probe, pub, to_image_msg(images[0], "rgb8"), actions)
        probe.spin_until(lambda: False, 0.3)
        runner_a.reset()
        assert act(images[0]) == runner_a.act(images[0], "rgb8")

        set_params = SetParameters.Request(parameters=[_string_param("model_path", str(models["grid_b"]))])
        result = probe.call(SetParameters, "/policy_node/set_parameters", set_params)
        assert result.results[0].successful, result.results[0].reason
        runner_b.reset()
        assert act(images[1]) == runner_b.act(images[1], "rgb8")

        bad = tmp_path / "broken.onnx"
        bad.write_bytes(b"not an onnx file")
        set_params = SetParameters.Request(parameters=[_string_param("model_path", str(bad))])
        result = probe.call(SetParameters, "/policy_node/set_parameters", set_params)
        assert not result.results[0].successful
        assert "keeping" in result.results[0].reason
        runner_b.reset()
        assert act(images[2]) == runner_b.act(images[2], "rgb8"), "a failed reload replaced the model"

        reload = probe.call(Trigger, "/policy_node/reload_model", Trigger.Request())
        assert reload.success, reload.message  # model_path still names grid_b
        assert node.alive()
    finally:
        node.stop()


def test_watchdog_waits_for_the_first_image(ros_env, probe, models) -> None:
    """Before any image the node publishes nothing: a safe action racing a lockstep bridge's
    first image would be stepped in place of the policy's answer."""
    timeout = 0.2
    node = start_policy_node(
        ros_env, models["twist"], watchdog_timeout_s=timeout, diagnostics_period_s=0.2, **RELIABLE
    )
    try:
        assert node.wait_for_output("policy node active"), node.output()
        twists = probe.collect(Twist, "action")
        diagnostics = probe.collect(DiagnosticArray, "/diagnostics")
        # The first report waits for discovery of the new subscription: once (a fresh-clone
        # run of the whole suite on 2 cores) no report arrived within 3 s.
        assert probe.spin_until(
            lambda: bool(diagnostics) and diagnostics[-1].status[0].message == "waiting for the first image",
            10.0,
        ), [d.status[0].message for d in diagnostics]
        probe.spin_until(lambda: False, 5 * timeout)
        assert twists == [], f"{len(twists)} actions published before any image"
        pub = probe.node.create_publisher(Image, "image", 50)
        first_action(probe, pub, to_image_msg(frame(84, 84, 1, 5), "mono8"), twists)
        # Images stopped: now the watchdog is armed and fires.
        count = len(twists)
        assert probe.spin_until(lambda: len(twists) > count, timeout + 1.0), "watchdog did not fire"
    finally:
        node.stop()


@pytest.mark.parametrize(
    ("hold_s", "subscribe_after_s", "delivered"),
    [(10.0, 0.0, True), (0.0, 0.0, False), (0.5, 2.0, False)],
    ids=["held-then-sent", "holding-off-action-lost", "held-too-long-dropped"],
)
def test_an_action_computed_before_any_subscriber_matched_is_held(
    ros_env, probe, models, hold_s, subscribe_after_s, delivered
) -> None:
    """The lockstep start race: the action publisher has no matched subscriber when it acts."""
    node = start_policy_node(
        ros_env, models["mono84"], hold_action_until_matched_s=hold_s, diagnostics_period_s=0.1, **RELIABLE
    )
    try:
        assert node.wait_for_output("policy node active"), node.output()
        pub = probe.node.create_publisher(Image, "image", 50)
        diagnostics = probe.collect(DiagnosticArray, "/diagnostics")
        assert probe.spin_until(lambda: pub.get_subscription_count() > 0, 15.0), "image topic not matched"
        image = frame(84, 84, 1, 11)
        pub.publish(to_image_msg(image, "mono8"))  # reliable, and its reader is matched: it arrives

        def counter(key: str) -> int:
            values = {kv.key: kv.value for kv in diagnostics[-1].status[0].values} if diagnostics else {}
            return int(values.get(key, 0))

        assert probe.spin_until(lambda: counter("frames") == 1, 10.0), "the node did not act on the image"
        probe.spin_until(lambda: False, subscribe_after_s)
        actions = probe.collect(Int32, "action", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        expected = PolicyRunner(models["mono84"]).act(image, "mono8")
        if delivered:
            assert probe.spin_until(lambda: bool(actions), 10.0), node.output()
            probe.spin_until(lambda: False, 0.5)
            assert [a.data for a in actions] == [expected]
            assert probe.spin_until(lambda: counter("held_actions_delivered") == 1, 3.0)
            assert "until a subscriber matched, then sent" in node.output()
        else:
            assert probe.spin_until(lambda: False, 3.0) is False and actions == []
            if hold_s > 0:
                assert probe.spin_until(lambda: counter("held_actions_expired") == 1, 3.0)
                assert "held action not sent" in node.output()
    finally:
        node.stop()
