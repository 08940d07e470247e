"""ROS 2 latency of the policy node: how much does ROS add on top of the model itself?

One run, two processes over loopback (this driver + the node under test), inside a
private network namespace (re-exec'ed with ``unshare -n``; refused if impossible):

(a) raw ONNX Runtime inference (PolicyRunner.act) of an 84x84 mono8 CNN policy;
(b) round trip of the same image through the bare image_echo node (the DDS floor);
(c) camera -> action round trip through the policy node;
overhead = (c) - (a) - (b) at p50; then 200 Hz sustained (drops = images without an
action) and 640x480 rgb8 at 30 Hz (resized/greyed by the node). All processes use
FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA (needed for the 921 KB images; the small-image
figures in shared/platform.md are the same with and without it).

The policy node subscribes RELIABLE here (``--policy-qos``): with a best-effort
subscription the 640x480 stream at 30 Hz lost about half of its images on this machine
(41 of 91 delivered, measured with ``--policy-qos sensor_data``), while 84x84 at 200 Hz
lost none. Reliable with a small history depth keeps the latest frames without loss.

Usage: asymlearn benchmark ros_latency [--rounds 300] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS_DIR, write_json
from training.ros_launch import (
    NodeProcess,
    clean_fastdds_shm,
    discovery_env,
    in_private_netns,
    isolation_problem,
    reexec_in_private_netns,
    ros_package_path,
)

NAME = "ros_latency"


def _percentiles(ms: np.ndarray) -> dict[str, float]:
    if ms.size == 0:
        return {"n": 0}
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {
        "n": int(ms.size),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "mean": float(ms.mean()),
        "max": float(ms.max()),
    }


def export_benchmark_model(path: Path) -> Path:
    """An untrained 84x84 mono8 CNN policy of the project's own architecture."""
    import torch

    from policies.export import export_policy
    from policies.metadata import PolicyMetadata
    from policies.networks import ImagePolicy

    torch.manual_seed(0)
    module = ImagePolicy((84, 84, 1), 4, discrete=True)
    meta = PolicyMetadata.from_dict(
        {
            "observation": {
                "kind": "image",
                "encoding": "mono8",
                "height": 84,
                "width": 84,
                "frame_window": 1,
            },
            "action": {"kind": "discrete", "size": 4},
        }
    )
    return export_policy(module, meta, path)


def raw_inference(model: Path, image: np.ndarray, rounds: int) -> np.ndarray:
    from policies.runtime import PolicyRunner

    runner = PolicyRunner(model)
    for _ in range(50):
        runner.act(image, "mono8")
    out = np.empty(rounds)
    for i in range(rounds):
        start = time.perf_counter()
        runner.act(image, "mono8")
        out[i] = time.perf_counter() - start
    return out * 1e3


class Driver:
    """The benchmark's own node: publishes images, times the replies."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        rclpy.init()
        self.rclpy = rclpy
        self.node = rclpy.create_node("latency_driver")
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.best_effort = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.replies = 0

    def _count(self, _msg: Any) -> None:
        self.replies += 1

    def endpoints(self, in_topic: str, out_topic: str, out_type: type, qos: Any) -> Any:
        from sensor_msgs.msg import Image

        pub = self.node.create_publisher(Image, in_topic, qos)
        sub = self.node.create_subscription(out_type, out_topic, self._count, 10)
        return pub, sub

    def wait_ready(self, pub: Any, msg: Any, timeout: float = 20.0) -> bool:
        """Publish until the first reply (discovery done), then drain."""
        deadline = time.monotonic() + timeout
        self.replies = 0
        while self.replies == 0 and time.monotonic() < deadline:
            pub.publish(msg)
            self.executor.spin_once(timeout_sec=0.1)
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.05)
        return self.replies > 0

    def ping_pong(self, pub: Any, msg: Any, rounds: int) -> tuple[np.ndarray, int]:
        out, lost = [], 0
        for _ in range(rounds):
            before = self.replies
            start = time.perf_counter()
            pub.publish(msg)
            while self.replies == before and time.perf_counter() - start < 1.0:
                self.executor.spin_once(timeout_sec=0.01)
            if self.replies == before:
                lost += 1
            else:
                out.append(time.perf_counter() - start)
        return np.asarray(out) * 1e3, lost

    def stream(self, pub: Any, msg: Any, rate_hz: float, seconds: float) -> dict[str, float]:
        """Publish at a fixed rate; count replies (each image should give one action)."""
        self.replies = 0
        period = 1.0 / rate_hz
        start = time.perf_counter()
        next_send, sent = start, 0
        while next_send < start + seconds:
            now = time.perf_counter()
            if now >= next_send:
                pub.publish(msg)
                sent += 1
                next_send += period
            self.executor.spin_once(timeout_sec=max(0.0, next_send - time.perf_counter()))
        elapsed = time.perf_counter() - start
        grace = time.monotonic() + 1.0
        while self.replies < sent and time.monotonic() < grace:
            self.executor.spin_once(timeout_sec=0.02)
        return {
            "rate_hz": rate_hz,
            "seconds": seconds,
            "sent": sent,
            "actions": self.replies,
            "dropped": sent - self.replies,
            "achieved_send_hz": sent / elapsed,
        }

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.rclpy.try_shutdown()


def plot(results: dict[str, Any], samples: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cdf, bars) = plt.subplots(1, 2, figsize=(11, 4))
    for label, ms in samples.items():
        if ms.size:
            cdf.plot(np.sort(ms), np.linspace(0, 1, ms.size), label=label)
    cdf.set_xscale("log")
    cdf.set_xlabel("latency (ms)")
    cdf.set_ylabel("fraction of samples")
    cdf.set_title("84x84 mono8 latency CDF")
    cdf.legend()
    names = list(samples)
    x = np.arange(len(names))
    p50 = [results[k]["p50"] for k in names]
    p99 = [results[k]["p99"] for k in names]
    bars.bar(x - 0.2, p50, 0.4, label="p50")
    bars.bar(x + 0.2, p99, 0.4, label="p99")
    bars.set_xticks(x, names, rotation=10)
    bars.set_ylabel("ms")
    bars.set_title(f"overhead (c)-(a)-(b) at p50: {results['overhead_p50_ms']:.3f} ms")
    bars.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="asymlearn benchmark ros_latency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=300, help="ping-pong round trips per measurement")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each sustained-rate run")
    parser.add_argument(
        "--policy-qos",
        default="reliable",
        choices=["sensor_data", "reliable"],
        help="the policy node's image subscription QoS",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the JSON and PNG")
    args = parser.parse_args(argv)

    if not in_private_netns():
        reexec_in_private_netns(["-m", "benchmarks.ros_latency", *argv])
        print(f"ros_latency: refusing to run: {isolation_problem()}", file=sys.stderr)
        return 2
    if str(ros_package_path()) not in sys.path:
        sys.path.insert(0, str(ros_package_path()))  # works without a colcon build too
    from sensor_msgs.msg import Image
    from std_msgs.msg import Int32

    from asymlearn_ros.ros_image import to_image_msg

    work = Path(tempfile.mkdtemp(prefix="asymlearn-ros-latency-"))
    env = discovery_env(work / "ros_log", large_data=True)
    os.environ.update({k: env[k] for k in env if k.startswith(("ROS_", "FASTDDS_"))})
    model = export_benchmark_model(work / "policy.onnx")
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (84, 84, 1), dtype=np.uint8)
    large = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    small_msg, large_msg = to_image_msg(small, "mono8"), to_image_msg(large, "rgb8")

    results: dict[str, Any] = {
        "transport": "LARGE_DATA",
        "rounds": args.rounds,
        "policy_qos": args.policy_qos,
    }
    samples: dict[str, np.ndarray] = {}
    samples["(a) onnxruntime"] = raw_inference(model, small, args.rounds * 3)
    results["(a) onnxruntime"] = _percentiles(samples["(a) onnxruntime"])

    driver = Driver()
    try:
        with NodeProcess("asymlearn_ros.image_echo", env=env) as echo:
            if not echo.wait_for_output("echoing"):
                raise RuntimeError(f"image_echo did not start:\n{echo.output()}")
            pub, _ = driver.endpoints("image", "image_echo", Image, driver.reliable)
            if not driver.wait_ready(pub, small_msg):
                raise RuntimeError("no echo within 20 s")
            samples["(b) image_echo"], lost = driver.ping_pong(pub, small_msg, args.rounds)
            results["(b) image_echo"] = {**_percentiles(samples["(b) image_echo"]), "lost": lost}

        node_args = [
            "--ros-args",
            "-p",
            f"model_path:={model}",
            "-p",
            "autostart:=true",
            "-p",
            "image_topic:=camera",
            "-p",
            "watchdog_timeout_s:=0.0",
            "-p",
            "qos_depth:=5",
            "-p",
            f"qos:={args.policy_qos}",
        ]
        with NodeProcess("asymlearn_ros.policy_node", node_args, env=env) as policy:
            if not policy.wait_for_output("policy node active"):
                raise RuntimeError(f"policy node did not start:\n{policy.output()}")
            pub, _ = driver.endpoints("camera", "action", Int32, driver.reliable)
            if not driver.wait_ready(pub, small_msg):
                raise RuntimeError("no action within 20 s")
            samples["(c) policy_node"], lost = driver.ping_pong(pub, small_msg, args.rounds)
            results["(c) policy_node"] = {**_percentiles(samples["(c) policy_node"]), "lost": lost}
            results["sustained_200hz_84x84_mono8"] = driver.stream(pub, small_msg, 200.0, args.seconds)
            driver.wait_ready(pub, large_msg)
            results["sustained_30hz_640x480_rgb8"] = driver.stream(pub, large_msg, 30.0, args.seconds)
            results["policy_node_alive"] = policy.alive()
    finally:
        driver.close()
        clean_fastdds_shm()

    a, b, c = (results[k]["p50"] for k in ("(a) onnxruntime", "(b) image_echo", "(c) policy_node"))
    results["overhead_p50_ms"] = c - a - b
    results["overhead_target_ms"] = 0.5
    path = write_json(NAME, results, args.out)
    plot(results, samples, args.out / f"{NAME}.png")
    for key in ("(a) onnxruntime", "(b) image_echo", "(c) policy_node"):
        r = results[key]
        print(f"{key:18s} p50 {r['p50']:7.3f} ms  p99 {r['p99']:7.3f} ms  (n={r['n']})")
    print(f"overhead (c)-(a)-(b) at p50: {results['overhead_p50_ms']:.3f} ms (target <= 0.5 ms)")
    for key in ("sustained_200hz_84x84_mono8", "sustained_30hz_640x480_rgb8"):
        r = results[key]
        print(
            f"{key}: sent {r['sent']} in {r['seconds']:.0f} s ({r['achieved_send_hz']:.1f} Hz), "
            f"actions {r['actions']}, dropped {r['dropped']}"
        )
    print(f"wrote {path} and {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
