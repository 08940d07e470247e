"""`asymlearn train-online`: A2D over ROS 2, the trainer driving N batch bridge nodes.

Starts N ``batch_bridge_node`` processes (namespaces bridge0..bridgeN-1, each holding
num_envs / N environment copies) with the network discipline of ``asymlearn deploy``, then
runs the ``a2d_trainer`` node in this process; parameters come from
``launch/config/a2d_online_tiger_door.yaml`` (the launch file's), overridden by the options.

    asymlearn train-online --seed 0 --bridges 2
    asymlearn train-online --steps 20000 --set eval.every=2 --run-dir runs/online_try
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from training.ros_launch import NodeProcess, discovery_env, in_private_netns, reexec_in_private_netns
from training.ros_launch.processes import REPO_ROOT, ros_package_path

CONFIG = REPO_ROOT / "launch" / "config" / "a2d_online_tiger_door.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="a2d_image_tiger_door", help="training preset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=None, help="shortcut for --set total_steps=N")
    parser.add_argument("--bridges", type=int, default=2, help="number of batch bridge nodes (default 2)")
    parser.add_argument("--run-dir", default="", help="default runs/<preset>_online/seed<k>")
    parser.add_argument("--no-resume", dest="resume", action="store_false", default=True)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a silent bridge is lost")
    parser.add_argument("--on-bridge-timeout", choices=("retry", "stop"), default="retry")
    parser.add_argument("--export-every", type=int, default=10, help="iterations between ONNX exports")
    parser.add_argument("--policy-reload-service", default="", help="e.g. /policy_node/reload_model")
    parser.add_argument("--log-dir", default=None, help="node logs (default runs/online/<time>)")
    parser.add_argument("--domain-id", type=int, default=None)
    parser.add_argument("--no-isolate", dest="isolate", action="store_false", default=True)
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=True)


def trainer_parameters(args: argparse.Namespace) -> dict[str, Any]:
    overrides = list(args.overrides) + ([f"total_steps={args.steps}"] if args.steps else [])
    return {
        "preset": args.preset,
        "seed": int(args.seed),
        "overrides": ";".join(overrides),
        "run_dir": args.run_dir,
        "resume": bool(args.resume),
        "bridges": ",".join(f"bridge{i}" for i in range(args.bridges)),
        "timeout_s": float(args.timeout),
        "on_bridge_timeout": args.on_bridge_timeout,
        "export_every": int(args.export_every),
        "policy_reload_service": args.policy_reload_service,
        "progress": bool(args.progress),
    }


def copies_per_bridge(preset: str, overrides: list[str], bridges: int) -> int:
    from training.config import make_config

    total = int(make_config(preset, overrides).num_envs)
    if bridges < 1 or total % bridges:
        raise ValueError(f"num_envs={total} cannot be split evenly over {bridges} bridge(s)")
    return total // bridges


def train_online(args: argparse.Namespace, env: dict[str, str], log_dir: Path) -> dict[str, Any]:
    """Start the bridges, run the trainer node here, always stop the bridges."""
    params = trainer_parameters(args)
    per_bridge = copies_per_bridge(
        args.preset, params["overrides"].split(";") if params["overrides"] else [], args.bridges
    )
    bridges = [
        NodeProcess(
            "asymlearn_ros.batch_bridge_node",
            [
                "--ros-args",
                "-r",
                f"__ns:=/bridge{i}",
                "--params-file",
                str(CONFIG),
                "-p",
                f"num_envs:={per_bridge}",
            ],
            env=env,
            log_path=log_dir / f"bridge{i}.out",
            name=f"bridge{i}",
        )
        for i in range(args.bridges)
    ]
    os.environ.update({k: v for k, v in env.items() if k.startswith(("ROS_", "FASTDDS_", "RMW_"))})
    import rclpy
    from rclpy.parameter import Parameter

    from asymlearn_ros.a2d_trainer_node import A2DTrainerNode

    try:
        for proc in bridges:
            proc.start()
            print(
                f"[train-online] started {proc.name} (pid {proc.proc.pid}), log {proc.log_path}", flush=True
            )
        rclpy.init(args=["--ros-args", "--params-file", str(CONFIG)])
        node = A2DTrainerNode(parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
        try:
            return node.run()
        finally:
            node.destroy_node()
            rclpy.try_shutdown()
    finally:
        for proc in bridges:
            proc.stop()


def run(args: argparse.Namespace) -> int:
    if args.isolate and not in_private_netns():
        reexec_in_private_netns(["-m", "training.cli", *sys.argv[1:]])
        print(
            "[train-online] warning: no private network namespace; localhost-only discovery", file=sys.stderr
        )
    log_dir = Path(args.log_dir or REPO_ROOT / "runs" / "online" / time.strftime("%Y%m%d-%H%M%S"))
    env = discovery_env(log_dir, args.domain_id)
    from training.deploy import _raise_interrupt  # SIGTERM as Ctrl-C: the bridges are always stopped

    signal.signal(signal.SIGTERM, _raise_interrupt)
    sys.path.insert(0, str(ros_package_path()))
    from asymlearn_ros.a2d_trainer_node import TrainingStopped
    from asymlearn_ros.ros_batched_env import BridgeTimeoutError

    try:
        summary = train_online(args, env, log_dir)
    except TrainingStopped as exc:
        print(f"[train-online] {exc}", file=sys.stderr)
        return 3
    except (KeyError, ValueError, BridgeTimeoutError) as exc:
        print(f"asymlearn train-online: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=float))
    return 0
