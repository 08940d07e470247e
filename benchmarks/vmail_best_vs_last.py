"""The best evaluation's policy against the last checkpoint, over several V-MAIL runs.

    asymlearn benchmark vmail_best_vs_last --run seed0=runs/a --run seed1=runs/b [--episodes 20]

Adversarial imitation can learn a task and lose it again, so a run's last checkpoint can
undersell it; the training loop keeps the policy of its best evaluation as ``best.pt``
(``train.keep_best``). That choice was made on the loop's own few evaluation episodes, so here
both policies are exported to ONNX (parity-checked) and scored on the same ``asymlearn
evaluate`` episodes (seeds from 2024), which the loop never chose on. The figure adds each run's
exploring episodes and in-loop evaluations from progress.csv. Output:
docs/benchmarks/vmail_best_vs_last_<task>[_<tag>].{json,png}; each run's scores are cached in
``<run>/best_vs_last.json``, keyed by the checkpoints' steps and the episodes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.common import (
    add_output_arguments,
    expert_on_eval_episodes,
    only_task,
    parse_labelled_paths,
    share_of_expert,
    write_json,
)
from benchmarks.vmail_learning import expert_return, read_progress, vmail_curve

POLICIES = {"best": "best.pt", "last": "checkpoint.pt"}


def parse_runs(items: list[str], parser: argparse.ArgumentParser) -> dict[str, Path]:
    runs = parse_labelled_paths(items, parser, "--run", "DIR")
    for label, directory in runs.items():
        for name in POLICIES.values():
            if not (directory / name).exists():
                parser.error(f"--run {label}: {directory / name} does not exist (train with keep_best on)")
    return runs


def score_policy(checkpoint: Path, state: dict[str, Any], episodes: int) -> dict[str, Any]:
    """Export one checkpoint (``state``: its loaded contents) next to itself; score it with ONNX Runtime."""
    from policies.export_cmd import export_checkpoint
    from training.commands.evaluate import EVAL_SEED, evaluate_onnx

    onnx_path, parity = export_checkpoint(checkpoint, out=checkpoint.with_suffix(".onnx"))
    report = evaluate_onnx(onnx_path, None, episodes, EVAL_SEED)
    return {
        "agent_steps": int(state["env_steps"]),  # best.pt is saved at its evaluation
        "updates": int(state["updates"]),
        "loop_eval": state.get("best_eval") if checkpoint.name == POLICIES["best"] else None,
        "episodes": episodes,
        "seeds": [EVAL_SEED, EVAL_SEED + episodes - 1],
        "parity": float(parity),
        **report["deterministic"],
    }


def score_baseline(path: Path, task: str, episodes: int) -> dict[str, Any]:
    """An exported baseline on the same episodes as the V-MAIL policies; it must be for their task."""
    from training.commands.evaluate import EVAL_SEED, evaluate_onnx

    report = evaluate_onnx(path, None, episodes, EVAL_SEED)
    if report["environment"] != task:
        raise ValueError(f"baseline {path} was trained on {report['environment']}, the runs on {task}")
    return {"policy": str(path), "episodes": episodes, **report["deterministic"]}


def score_run(run_dir: Path, episodes: int) -> dict[str, Any]:
    """Both policies of one run, from the cache when their checkpoints have not moved on."""
    from training.checkpoint import load_checkpoint
    from training.config import config_from_yaml
    from training.vmail.algorithm import FORMAT

    cache_path = run_dir / "best_vs_last.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    scores: dict[str, Any] = {}
    states = {which: load_checkpoint(run_dir / name, fmt=FORMAT) for which, name in POLICIES.items()}
    for which, name in POLICIES.items():
        state = states[which]
        key = {"env_steps": int(state["env_steps"]), "episodes": episodes}
        cached = cache.get(which, {})
        if all(cached.get(k) == v for k, v in key.items()):
            scores[which] = cached
            continue
        print(
            f"{run_dir}: scoring the {which} policy ({name}, {key['env_steps']} agent steps) "
            f"on {episodes} episodes",
            flush=True,
        )
        scores[which] = {**key, **score_policy(run_dir / name, state, episodes)}
        cache[which] = scores[which]
        cache_path.write_text(json.dumps(cache, indent=1))
    cfg = config_from_yaml(states["last"]["config"])
    rows = read_progress(run_dir / "progress.csv")
    return {
        "run_dir": str(run_dir),
        "task": str(cfg.env),
        "seed": int(cfg.seed),
        "expert_return": expert_return(Path(cfg.expert_dirs[0])),
        "exploring": [(int(r["env_steps"]), float(r["train_return"])) for r in rows],
        "loop_evals": vmail_curve(rows),
        "loop_eval_episodes": int(cfg.train.eval_episodes),
        "exploration_noise": float(cfg.train.expl_amount),
        **scores,
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 3.2 * len(runs)), sharex=True, squeeze=False)
    expert = results["expert_eval"]["mean"]
    for ax, (label, run) in zip(axes[:, 0], runs.items(), strict=True):
        steps, returns = zip(*run["exploring"], strict=True)
        noise = run["exploration_noise"]
        ax.plot(steps, returns, color="0.7", lw=0.8, label=f"exploring episodes (noise {noise:g})")
        if run["loop_evals"]:
            steps, returns = zip(*run["loop_evals"], strict=True)
            ax.plot(
                steps, returns, "o-", ms=3, label=f"in-loop evaluation ({run['loop_eval_episodes']} episodes)"
            )
        for which, marker in (("best", "D"), ("last", "s")):
            s = run[which]
            ax.errorbar(
                [s["agent_steps"]],
                [s["mean"]],
                yerr=[s["std"]],
                fmt=marker,
                ms=7,
                capsize=4,
                label=f"{which} policy, ONNX, {s['episodes']} episodes: {s['mean']:.0f} ± {s['std']:.0f}",
            )
        for k, (name, b) in enumerate(results.get("baselines", {}).items()):
            ax.axhline(
                b["mean"],
                color=f"C{3 + k}",
                ls="-.",
                lw=0.9,
                label=f"{name}, ONNX: {b['mean']:.0f} ± {b['std']:.0f}",
            )
        ax.axhline(expert, color="k", ls="--", lw=0.8, label=f"expert on the same episodes {expert:.0f}")
        ax.axhline(0.9 * expert, color="k", ls=":", lw=0.8, label="90% of expert")
        ax.set_ylabel("return")
        ax.set_title(f"{label} ({run['run_dir']})", fontsize=9)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    axes[-1, 0].set_xlabel("agent steps")
    fig.suptitle(f"V-MAIL on {results['task']}: the best evaluation's policy and the last checkpoint")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run", action="append", default=[], metavar="LABEL=DIR", help="a V-MAIL run directory"
    )
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="LABEL=ONNX",
        help="an exported baseline policy (BC, SQIL, DAC) scored on the same episodes",
    )
    parser.add_argument("--episodes", type=int, default=20, help="ONNX evaluation episodes per policy")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if not args.run:
        parser.error("give at least one --run LABEL=DIR")
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    runs = parse_runs(args.run, parser)
    baselines = parse_labelled_paths(args.baseline, parser, "--baseline", "ONNX")
    for label, path in baselines.items():
        if path.suffix != ".onnx" or not path.exists():
            parser.error(f"--baseline {label}: {path} is not an exported .onnx policy")
    import torch

    torch.set_num_threads(args.threads)
    scored = {label: score_run(directory, args.episodes) for label, directory in runs.items()}
    task = only_task({run["task"] for run in scored.values()}, "runs")
    if task is None:
        return 2
    from training.commands.evaluate import EVAL_SEED

    first = next(iter(scored.values()))
    results = {
        "task": task,
        "expert_return": first["expert_return"],
        "expert_eval": expert_on_eval_episodes(task, args.episodes),
        "runs": scored,
        "baselines": {label: score_baseline(path, task, args.episodes) for label, path in baselines.items()},
    }
    name = f"vmail_best_vs_last_{task}" + (f"_{args.tag}" if args.tag else "")
    json_path = write_json(name, results, args.out)
    png_path = args.out / f"{name}.png"
    plot(results, png_path)
    expert = results["expert_eval"]["mean"]
    print(
        f"expert on the same {args.episodes} episodes: {expert:.1f} "
        f"(on its {args.episodes} seeds from {EVAL_SEED}; demos' mean {results['expert_return']:.1f})"
    )
    for label, b in results["baselines"].items():
        print(f"{label} (baseline): {share_of_expert(b['mean'], b['std'], expert)}")
    for label, run in scored.items():
        for which in POLICIES:
            s = run[which]
            print(
                f"{label} {which:4s} at {s['agent_steps']:6d} agent steps: "
                f"{share_of_expert(s['mean'], s['std'], expert)}"
            )
    print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
