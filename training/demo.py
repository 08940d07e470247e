"""`asymlearn demo`: the product's main job, end to end, on a CPU in minutes.

Stages (each prints what it does and how long it took; finished training is reused on a
second run, so the command is idempotent):
  1. ROS 2 check: a camera image makes a round trip through a node in another process.
  2. Train A2D (Image) on Tiger Door: privileged expert + camera-only trainee.
  3. Train AIL (asymmetric DAgger from a fixed RL (MDP) expert) on Tiger Door.
  4. Export both camera policies to ONNX with their metadata (parity checked).
  5. Deploy each in the ROS 2 simulated deployment (sim bridge node + policy node, lockstep)
     for N episodes, and check the returns equal an in-process rollout of the same seeds.
  6. Print the returns and plot them next to the analytic optima.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from training.ros_launch import in_private_netns, reexec_in_private_netns

METHODS = {"A2D": "a2d_image_tiger_door", "AIL": "ail_tiger_door"}


# Seconds one lockstep deployment may take (about 3 s normally) before it is retried once.
DEPLOY_TIMEOUT_S = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="where results go")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--episodes", type=int, default=100, help="ROS deployment episodes per policy")
    parser.add_argument("--steps", type=int, default=None, help="training env steps (default: the preset's)")
    parser.add_argument(
        "--no-isolate",
        action="store_true",
        help="do not re-exec into a private network namespace (DDS stays on localhost discovery)",
    )


def _stage(title: str) -> float:
    print(f"\n=== {title}", flush=True)
    return time.monotonic()


def _done(started: float) -> None:
    print(f"    ({time.monotonic() - started:.1f} s)", flush=True)


def _train(preset: str, seed: int, steps: int | None, run_dir: Path) -> dict[str, Any]:
    from training.config import make_config
    from training.loop import train

    overrides = [f"seed={seed}", f"log.root={run_dir.parent / 'experts'}"]
    if steps is not None:
        overrides.append(f"total_steps={steps}")
    return train(make_config(preset, overrides), run_dir, resume=True)


def _plot(results: dict[str, dict[str, Any]], optima: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, res in results.items():
        returns = res["ros_returns"]
        ax.plot(
            range(1, len(returns) + 1),
            returns,
            "o",
            ms=3,
            alpha=0.7,
            label=f"{name} (mean {res['mean']:.2f})",
        )
    styles = {"mdp_optimal": ":", "pomdp_optimal": "--", "averaged_policy": "-."}
    for key, value in optima.items():
        ax.axhline(
            value, color="grey", ls=styles.get(key, "-"), lw=1, label=f"{key.replace('_', ' ')} {value:g}"
        )
    ax.set_xlabel("episode (deployed over ROS 2)")
    ax.set_ylabel("return")
    ax.set_title("Tiger Door: camera policies deployed through ROS 2 (lockstep)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    if not args.no_isolate:
        reexec_in_private_netns(["-m", "training.cli", "demo", *_argv_after_demo()])
    total = time.monotonic()
    print(f"network: {'private loopback-only namespace' if in_private_netns() else 'localhost discovery'}")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    t = _stage("1. ROS 2 round trip of a camera image through a node")
    from training.ros_launch.round_trip import image_round_trip

    rt = image_round_trip()
    print(
        f"    {rt['count']} 84x84 mono8 images echoed through image_echo: "
        f"median {rt['median_ms']:.2f} ms, p99 {rt['p99_ms']:.2f} ms"
    )
    _done(t)

    summaries: dict[str, dict[str, Any]] = {}
    for i, (name, preset) in enumerate(METHODS.items(), start=2):
        t = _stage(f"{i}. train {name} on Tiger Door (preset {preset}, seed {args.seed})")
        summaries[name] = _train(preset, args.seed, args.steps, out / name.lower())
        brief = {k: summaries[name].get(k) for k in ("env_steps", "wall_time")}
        print(f"    {json.dumps(brief, default=float)}")
        _done(t)

    t = _stage("4. export the camera policies to ONNX")
    from policies.export_cmd import export_checkpoint

    models: dict[str, Path] = {}
    for name in METHODS:
        path, parity = export_checkpoint(
            out / name.lower() / "checkpoint.pt", "trainee", out / f"{name.lower()}.onnx"
        )
        models[name] = path
        print(f"    {name}: {path} (torch vs ONNX Runtime max abs diff {parity:.2g})")
    _done(t)

    t = _stage(f"5. deploy over ROS 2: sim bridge + policy node, lockstep, {args.episodes} episodes each")
    from sim_bridges import make
    from training.deploy import deploy, rollout_in_process
    from training.ros_launch import discovery_env

    results: dict[str, dict[str, Any]] = {}
    bridge_seed = 1000
    for name, path in models.items():
        started = time.monotonic()
        for attempt in (1, 2):  # a lockstep run takes seconds; a stalled DDS discovery never ends
            res = deploy(
                "tiger_door",
                overrides=[f"policy_node.model_path={path}", f"sim_bridge.seed={bridge_seed}"],
                episodes=args.episodes,
                timeout=DEPLOY_TIMEOUT_S,
                env=discovery_env(out / "ros_log" / name.lower()),
                log_dir=out / "ros_log" / name.lower(),
            )
            if res["exit"] != "timeout" or attempt == 2:
                break
            print(f"    {name}: no episodes in {DEPLOY_TIMEOUT_S:.0f} s (DDS discovery stalled?); retrying")
        ros_returns = [float(r) for r in res.get("returns", [])]
        if len(ros_returns) != args.episodes:
            print(f"    {name}: deployment ended early ({res['exit']}); logs in {res['log_dir']}")
            return 1
        local = rollout_in_process("tiger_door", path, bridge_seed, args.episodes)
        mean = sum(ros_returns) / len(ros_returns)
        results[name] = {
            "ros_returns": ros_returns,
            "mean": mean,
            "matches_in_process": ros_returns == local,
            "deploy_seconds": time.monotonic() - started,
            "model": str(path),
        }
        print(
            f"    {name}: mean return {mean:.2f} over {len(ros_returns)} episodes through ROS "
            f"({results[name]['deploy_seconds']:.1f} s); identical to in-process rollout: "
            f"{results[name]['matches_in_process']}"
        )
    _done(t)

    t = _stage("6. results")
    optima = dict(make("tiger_door").info.reference_returns)
    print(f"    {'policy':<6} {'mean return':>12}  reference")
    print(f"    {'A2D':<6} {results['A2D']['mean']:>12.2f}  POMDP optimum {optima.get('pomdp_optimal')}")
    print(f"    {'AIL':<6} {results['AIL']['mean']:>12.2f}  averaged policy {optima.get('averaged_policy')}")
    _plot(results, optima, out / "demo_returns.png")
    payload = {"results": results, "optima": optima, "round_trip": rt, "seconds": time.monotonic() - total}
    (out / "demo_results.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"    plot: {out / 'demo_returns.png'}\n    json: {out / 'demo_results.json'}")
    print(f"\ndemo finished in {time.monotonic() - total:.0f} s")
    ok = all(r["matches_in_process"] for r in results.values())
    return 0 if ok else 1


def _argv_after_demo() -> list[str]:
    import sys

    argv = sys.argv[1:]
    return argv[argv.index("demo") + 1 :] if "demo" in argv else argv
