"""Visual imitation baselines (BC, SQIL, DAC) scored on the expert's held-out episodes.

    asymlearn benchmark visual_baselines --run BC=runs/bc_x --run SQIL=runs/sqil_x [--episodes 20]

Why: the V-MAIL benchmarks score baselines only next to a V-MAIL run. This one compares
``asymlearn train-visual`` runs on their own: each run's ``checkpoint.pt`` is exported to
``policy.onnx`` next to it (parity-checked) and scored on ``asymlearn evaluate``'s episodes
(seeds from 2024), beside the scripted expert on the same episodes. The figure adds the
SQIL/DAC runs' in-loop evaluations against agent steps. Output:
docs/benchmarks/visual_baselines_<task>[_<tag>].{json,png}.
"""

from __future__ import annotations

import argparse
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
from benchmarks.vmail_learning import read_progress


def score_run(run_dir: Path, episodes: int) -> dict[str, Any]:
    """Export the run's last checkpoint and score it; its curve comes from progress.csv."""
    from policies.export_cmd import export_checkpoint
    from training.commands.evaluate import EVAL_SEED, evaluate_onnx

    onnx_path, parity = export_checkpoint(run_dir / "checkpoint.pt", out=run_dir / "policy.onnx")
    report = evaluate_onnx(onnx_path, None, episodes, EVAL_SEED)
    rows = read_progress(run_dir / "progress.csv")
    last = rows[-1] if rows else {}
    return {
        "run_dir": str(run_dir),
        "task": report["environment"],
        "agent_steps": int(float(last.get("env_steps", 0) or 0)),  # 0 for BC: it never acts
        "updates": int(float(last["updates"])) if last.get("updates") else None,  # BC's progress only
        "loop_evals": [
            (int(float(r["env_steps"])), float(r["eval_return_mean"]))
            for r in rows
            if float(r.get("env_steps", 0) or 0) > 0
        ],
        "episodes": episodes,
        "seeds": [EVAL_SEED, EVAL_SEED + episodes - 1],
        "parity": float(parity),
        **report["deterministic"],
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    expert = results["expert_eval"]["mean"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for k, (label, run) in enumerate(results["runs"].items()):
        color = f"C{k}"
        final = f"{label}, ONNX, {run['episodes']} episodes: {run['mean']:.0f} ± {run['std']:.0f}"
        if run["loop_evals"]:
            steps, returns = zip(*run["loop_evals"], strict=True)
            ax.plot(steps, returns, "o-", ms=3, color=color, label=f"{label}, in-loop evaluations")
            ax.errorbar(
                [run["agent_steps"]], [run["mean"]], yerr=[run["std"]], fmt="s", ms=7, capsize=4,
                color=color, label=final,
            )  # fmt: skip
        else:  # BC: trained on the demos only, no agent steps
            ax.axhline(run["mean"], color=color, ls="-.", lw=1.0, label=final)
    ax.axhline(expert, color="k", ls="--", lw=0.8, label=f"expert on the same episodes {expert:.0f}")
    ax.axhline(0.9 * expert, color="k", ls=":", lw=0.8, label="90% of expert")
    ax.set_xlabel("agent steps (env.step calls; the DMC tasks repeat each action twice)")
    ax.set_ylabel("return")
    ax.set_title(f"Visual imitation baselines on {results['task']}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run", action="append", default=[], metavar="LABEL=DIR", help="an asymlearn train-visual run"
    )
    parser.add_argument("--episodes", type=int, default=20, help="ONNX evaluation episodes per policy")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if not args.run:
        parser.error("give at least one --run LABEL=DIR")
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    runs = parse_labelled_paths(args.run, parser, "--run", "DIR")
    for label, directory in runs.items():
        for name in ("checkpoint.pt", "progress.csv"):
            if not (directory / name).exists():
                parser.error(f"--run {label}: {directory / name} does not exist")
    import torch

    torch.set_num_threads(args.threads)
    scored = {}
    for label, directory in runs.items():
        print(f"{label}: exporting {directory}/checkpoint.pt and scoring it on {args.episodes} episodes")
        scored[label] = score_run(directory, args.episodes)
    task = only_task({run["task"] for run in scored.values()}, "runs")
    if task is None:
        return 2
    from training.commands.evaluate import EVAL_SEED

    results = {
        "task": task,
        "expert_eval": expert_on_eval_episodes(task, args.episodes),
        "runs": scored,
    }
    name = f"visual_baselines_{task}" + (f"_{args.tag}" if args.tag else "")
    json_path = write_json(name, results, args.out)
    png_path = args.out / f"{name}.png"
    plot(results, png_path)
    expert = results["expert_eval"]["mean"]
    print(f"expert on the same {args.episodes} episodes (seeds from {EVAL_SEED}): {expert:.1f}")
    for label, run in scored.items():
        where = f"{run['agent_steps']} agent steps" if run["agent_steps"] else f"{run['updates']} updates"
        print(f"{label} at {where}: {share_of_expert(run['mean'], run['std'], expert)}")
    print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
