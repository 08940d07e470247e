"""Zero-shot transfer (V-MAIL Algorithm 2) from a trained point_mass-easy run to a moved target.

    asymlearn benchmark vmail_transfer_point_mass --source runs/pm64_s30_seed0 [--target 0.12,-0.12]

Task family: point_mass-easy with the target at another place in the arena
(``sim_bridges.make("point_mass_easy", target=(x, y))``); the camera shows the target. The
source is one finished Algorithm 1 run on the suite's task (target at the centre): its world
model (last checkpoint) and its agent buffer B_π (``<run>/episodes``) are Algorithm 2's shared
model and pooled buffer, and its best policy (``best.pt``) is the direct-transfer baseline.
The D'Claw family (``vmail_transfer``) could not show transfer because its sources never
learnt; this one starts from a source that did.

Compared on the new task, all with zero environment steps there for learning:
- V-MAIL transfer: a fresh actor, value and discriminator trained on the new task's 10 demos
  and the pooled B_π, with the model fine-tuned on both (``training/vmail/transfer.py``);
- BC on the new task's 10 demos (DrQ shifts, 3 frames);
- direct transfer: the source's best policy run on the new task.

Every policy is scored deterministically on the same episodes (seeds from 2024, as
``asymlearn evaluate``), as a percentage of the scripted expert's return on those episodes.
Finished phases are cached in ``<work-dir>/phases.json``, so a killed run redoes only the
phase it was in. Writes docs/benchmarks/vmail_transfer_point_mass[_<tag>].{json,png}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import add_output_arguments, write_json

TASK = "point_mass_easy"


def parse_target(text: str) -> tuple[float, float]:
    """``"0.12,-0.12"`` -> (0.12, -0.12); the environment checks the range."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--target expects X,Y in metres, got {text!r}") from None
    return x, y


class Phases:
    """Results of finished phases on disk, so a rerun after a kill skips them."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path, self.settings = path, settings
        saved = json.loads(path.read_text()) if path.exists() else {}
        self.done: dict[str, Any] = saved.get("phases", {}) if saved.get("settings") == settings else {}

    def get(self, name: str, compute: Any) -> Any:
        if name not in self.done:
            t0 = time.perf_counter()
            self.done[name] = {"result": compute(), "wall_s": time.perf_counter() - t0}
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"settings": self.settings, "phases": self.done}, indent=1))
            tmp.replace(self.path)
        return self.done[name]["result"]


def vmail_returns(agent: Any, cfg: Any, target: tuple[float, float], episodes: int) -> list[float]:
    """Deterministic returns of a V-MAIL agent on the evaluation episodes of one task variant."""
    import sim_bridges
    from training.commands.evaluate import EVAL_SEED
    from training.vmail.algorithm import run_episode

    env = sim_bridges.make(TASK, image_size=int(cfg.image_size), target=target)
    try:
        return [float(run_episode(env, agent, cfg, 0.0, seed=EVAL_SEED + i)[1]) for i in range(episodes)]
    finally:
        env.close()


def bc_returns(
    demos: Path, run_dir: Path, target: tuple[float, float], image_size: int, args: argparse.Namespace
) -> list[float]:
    """BC on the new task's demos, scored on the evaluation episodes."""
    from training.baselines_visual.bc import BCConfig, train_bc
    from training.baselines_visual.evaluation import CHECKPOINT_FORMAT, evaluate_policy
    from training.baselines_visual.export import policy_from_checkpoint
    from training.checkpoint import load_checkpoint
    from training.commands.evaluate import EVAL_SEED

    cfg = BCConfig(
        task=TASK,
        demos=str(demos),
        run_dir=str(run_dir),
        updates=args.bc_updates,
        eval_every=args.bc_updates,
        eval_episodes=1,
        seed=args.seed,
        env_kwargs={"target": list(target)},
    )
    train_bc(cfg)
    policy, _ = policy_from_checkpoint(load_checkpoint(run_dir, fmt=CHECKPOINT_FORMAT))
    returns = evaluate_policy(
        policy, TASK, image_size, args.episodes, EVAL_SEED, env_kwargs={"target": target}
    )
    return [float(r) for r in returns]


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from training.checkpoint import load_checkpoint
    from training.commands.evaluate import EVAL_SEED
    from training.demos.collect import collect_demos, expert_returns
    from training.vmail.algorithm import FORMAT, agent_from_checkpoint
    from training.vmail.replay import SequenceReplay
    from training.vmail.transfer import zero_shot_transfer

    torch.set_num_threads(args.threads)
    source, work, target = Path(args.source), Path(args.work_dir), args.target
    work.mkdir(parents=True, exist_ok=True)
    last = load_checkpoint(source / "checkpoint.pt", fmt=FORMAT)
    cfg, agent = agent_from_checkpoint(last)  # the source's world model, fine-tuned by the transfer
    if cfg.env != TASK or dict(cfg.env_kwargs):
        raise ValueError(f"{source} is a run on {cfg.env} {dict(cfg.env_kwargs)}; the source must be {TASK}")
    settings = {
        "source": str(source),
        "source_steps": int(last["env_steps"]),
        "target": list(target),
        "updates": args.updates,
        "bc_updates": args.bc_updates,
        "episodes": args.episodes,
        "seed": args.seed,
    }
    phases = Phases(work / "phases.json", settings)
    demos = work / f"demos_{target[0]:+.2f}_{target[1]:+.2f}"
    if not (demos / "expert_returns.json").exists():
        collect_demos(TASK, 10, demos, image_size=int(cfg.image_size), env_kwargs={"target": target})

    def expert(where: tuple[float, float]) -> list[float]:
        return expert_returns(TASK, args.episodes, seed=EVAL_SEED, env_kwargs={"target": where})

    experts = {
        "source": phases.get("expert_source", lambda: expert((0.0, 0.0))),
        "target": phases.get("expert_target", lambda: expert(target)),
    }
    print(
        f"expert: {np.mean(experts['source']):.1f} (source task), {np.mean(experts['target']):.1f} (new task)"
    )

    def direct() -> dict[str, list[float]]:
        best_cfg, best = agent_from_checkpoint(load_checkpoint(source / "best.pt", fmt=FORMAT))
        return {
            "source_task": vmail_returns(best, best_cfg, (0.0, 0.0), args.episodes),
            "new_task": vmail_returns(best, best_cfg, target, args.episodes),
        }

    direct_returns = phases.get("direct", direct)
    print(
        f"source best policy: {np.mean(direct_returns['source_task']):.1f} on its task, "
        f"{np.mean(direct_returns['new_task']):.1f} on the new task",
        flush=True,
    )

    def transfer() -> dict[str, Any]:
        agent.load_optimizer_state(last["optimizers"])
        replay = {"with_state": agent.world.state_head is not None}
        pool = SequenceReplay(cfg.image_size, cfg.channels, seed=args.seed + 1, **replay)
        pool.load_dir(source / "episodes")
        new_demos = SequenceReplay(cfg.image_size, cfg.channels, seed=args.seed, **replay)
        new_demos.load_dir(demos)
        print(f"B_π: {len(pool)} source episodes, {pool.steps} steps; B_E: {len(new_demos)} new-task demos")
        curve: list[tuple[int, float]] = []
        t0 = time.perf_counter()

        def evaluate(update: int, learner: Any) -> None:
            ret = float(np.mean(vmail_returns(learner, cfg, target, args.curve_episodes)))
            curve.append((update, ret))
            spent = time.perf_counter() - t0
            print(f"transfer update {update}/{args.updates}: return {ret:.1f} ({spent:.0f} s)", flush=True)

        learner, rows = zero_shot_transfer(
            cfg,
            agent.world,
            new_demos,
            pool,
            args.updates,
            seed=args.seed,
            model_opt=agent.opts["model"],
            on_progress=evaluate,
            progress_every=args.eval_every,
        )
        return {
            "returns": vmail_returns(learner, cfg, target, args.episodes),
            "curve": curve,
            "final_metrics": {k: float(v) for k, v in rows[-1].items()},
            "pool_steps": pool.steps,
        }

    transferred = phases.get("transfer", transfer)
    bc = phases.get("bc", lambda: bc_returns(demos, work / "bc", target, int(cfg.image_size), args))

    expert_new = float(np.mean(experts["target"]))
    returns = {
        "V-MAIL zero-shot transfer": transferred["returns"],
        "BC (new task's demos)": bc,
        "direct: source's best policy": direct_returns["new_task"],
    }
    return {
        "task_family": "point_mass-easy, target position (visible in the image)",
        "source": {
            "run": str(source),
            "agent_steps": int(last["env_steps"]),
            "target": [0.0, 0.0],
            "expert_return": float(np.mean(experts["source"])),
            "best_policy_return": float(np.mean(direct_returns["source_task"])),
        },
        "target": {"target": list(target), "expert_return": expert_new, "expert_returns": experts["target"]},
        "episodes": args.episodes,
        "seeds": [EVAL_SEED, EVAL_SEED + args.episodes - 1],
        "transfer_updates": args.updates,
        "transfer_curve": transferred["curve"],
        "transfer_final_metrics": transferred["final_metrics"],
        "pool_steps": transferred["pool_steps"],
        "target_env_steps_for_learning": 0,
        "wall_s": {name: phase["wall_s"] for name, phase in phases.done.items()},
        "returns": {
            name: {"mean": float(np.mean(r)), "std": float(np.std(r)), "all": r}
            for name, r in returns.items()
        },
        "percent_of_expert": {name: 100.0 * float(np.mean(r)) / expert_new for name, r in returns.items()},
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (bars_ax, curve_ax) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    names = list(results["percent_of_expert"])
    values = [results["percent_of_expert"][n] for n in names]
    bars = bars_ax.barh(names, values, color=["tab:blue", "tab:red", "tab:gray"][: len(names)])
    for bar, v, n in zip(bars, values, names, strict=True):
        r = results["returns"][n]
        bars_ax.text(
            max(v, 0),
            bar.get_y() + bar.get_height() / 2,
            f" {v:.0f}% ({r['mean']:.0f} ± {r['std']:.0f})",
            va="center",
        )
    bars_ax.axvline(100, color="k", ls="--", lw=0.8)
    bars_ax.axvline(90, color="k", ls=":", lw=0.8)
    bars_ax.set_xlim(0, 125)
    bars_ax.set_xlabel(f"% of the expert's return on the same {results['episodes']} episodes")
    t = results["target"]["target"]
    bars_ax.set_title(
        f"new task: target at ({t[0]:+.2f}, {t[1]:+.2f}) m, 0 env steps for learning", fontsize=9
    )
    if results["transfer_curve"]:
        steps, rets = zip(*results["transfer_curve"], strict=True)
        curve_ax.plot(steps, rets, "o-", ms=3, label="V-MAIL transfer (deterministic)")
    curve_ax.axhline(results["target"]["expert_return"], color="k", ls="--", lw=0.8, label="expert")
    curve_ax.set_xlabel("Algorithm 2 updates (no environment steps)")
    curve_ax.set_ylabel("return on the new task")
    curve_ax.legend(fontsize=8)
    src = results["source"]
    fig.suptitle(
        f"Zero-shot transfer on point_mass-easy from {src['run']} ({src['agent_steps']} agent steps, "
        f"best policy {src['best_policy_return']:.0f} on its own task)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="a finished point_mass_easy V-MAIL run directory")
    parser.add_argument("--target", type=parse_target, default=(0.12, -0.12), help="new target X,Y in metres")
    parser.add_argument("--updates", type=int, default=1000, help="Algorithm 2 updates on the new task")
    parser.add_argument("--eval-every", type=int, default=250, help="updates between curve points")
    parser.add_argument("--curve-episodes", type=int, default=5)
    parser.add_argument("--bc-updates", type=int, default=2000)
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per policy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=Path("runs/vmail_transfer_point_mass"))
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    for name in ("checkpoint.pt", "best.pt", "episodes"):
        if not (Path(args.source) / name).exists():
            parser.error(f"--source {args.source}: {name} is missing (a V-MAIL run with keep_best on)")
    if min(args.updates, args.bc_updates, args.episodes, args.curve_episodes) < 1:
        parser.error("--updates, --bc-updates, --episodes and --curve-episodes must be at least 1")
    results = run(args)
    name = "vmail_transfer_point_mass" + (f"_{args.tag}" if args.tag else "")
    json_path = write_json(name, results, args.out)
    png_path = args.out / f"{name}.png"
    plot(results, png_path)
    for label, pct in results["percent_of_expert"].items():
        r = results["returns"][label]
        print(f"{label:32s} {r['mean']:7.1f} ± {r['std']:6.1f}  ({pct:.1f}% of the expert)")
    print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
