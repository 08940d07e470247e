"""What a trained V-MAIL discriminator rewards, read against the task's own reward.

    asymlearn benchmark vmail_disc_probe --policy best=runs/a/best.pt --policy last=runs/a/checkpoint.pt \
        [--noise 0 0.1 0.3] [--episodes 4] [--tag T]

The actor never sees the task's reward: it climbs log D. When a run learns a task and loses
it again, the first question is whether D still pays for the task. For each checkpoint this
rolls its agent on ``asymlearn evaluate``'s episodes (seeds from 2024) at each collection-noise
level, filters the frames with the checkpoint's world model as training does, and reads its
D on every [z_t, a_t] pair; it does the same on the first demos of the run's expert directory.
It reports D's mean per bin of the environment's step reward and the correlation between
log D and that reward, and writes docs/benchmarks/vmail_disc_probe_<task>[_<tag>].{json,png}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import add_output_arguments, only_task, parse_labelled_paths, write_json

BINS = 5


def parse_policies(items: list[str], parser: argparse.ArgumentParser) -> dict[str, Path]:
    policies = parse_labelled_paths(items, parser, "--policy", "CHECKPOINT")
    for label, path in policies.items():
        if not path.is_file():
            parser.error(f"--policy {label}: {path} does not exist")
    return policies


def disc_on_episode(agent: Any, episode: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(D(z_t, a_t), r_t) for every step of one episode, z_t from the posterior filter.

    In the episode format ``action[t + 1]`` is the action taken at observation t and
    ``reward[t + 1]`` the reward it earned, so pair t is scored against ``reward[t + 1]``.
    """
    import torch

    window = {"image": episode["image"][None], "action": episode["action"][None]}
    pairs, _ = agent.expert_pairs(window)
    with torch.no_grad():
        d = torch.sigmoid(agent.disc(agent.disc_input(pairs)).float())
    return d.numpy().reshape(-1), np.asarray(episode["reward"][1:], np.float64)


def summarise(d: np.ndarray, r: np.ndarray, edges: np.ndarray, returns: list[float]) -> dict[str, Any]:
    """D's mean per reward bin and corr(log D, r) over the steps of one set of episodes."""
    index = np.clip(np.digitize(r, edges[1:-1]), 0, len(edges) - 2)
    per_bin = [float(d[index == b].mean()) if np.any(index == b) else None for b in range(len(edges) - 1)]
    log_d = np.log(np.clip(d, 1e-6, 1.0))
    varied = np.std(log_d) > 0 and np.std(r) > 0
    return {
        "return_mean": float(np.mean(returns)),
        "returns": [float(x) for x in returns],
        "steps": len(d),
        "d_mean": float(d.mean()),
        "d_per_reward_bin": per_bin,
        "steps_per_reward_bin": [int(np.sum(index == b)) for b in range(len(edges) - 1)],
        "corr_log_d_reward": float(np.corrcoef(log_d, r)[0, 1]) if varied else None,
    }


def expert_episodes(directory: Path, count: int) -> list[dict[str, np.ndarray]]:
    from training.demos.episodes import episode_paths, read_episode

    paths = episode_paths(directory)[:count]
    if not paths:
        raise FileNotFoundError(f"no episode files (*.npz) in {directory}")
    return [read_episode(p) for p in paths]


def probe_policy(path: Path, noises: list[float], episodes: int) -> dict[str, Any]:
    """D on the expert's demos and on the agent's own episodes at each noise level."""
    from training.checkpoint import load_checkpoint
    from training.commands.evaluate import EVAL_SEED
    from training.vmail.algorithm import FORMAT, agent_from_checkpoint, make_env, run_episode
    from training.vmail.replay import fit_images

    state = load_checkpoint(path, fmt=FORMAT)
    cfg, agent = agent_from_checkpoint(state)
    agent.eval()
    env = make_env(cfg)
    sets: dict[str, tuple[np.ndarray, np.ndarray, list[float]]] = {}
    demos = expert_episodes(Path(cfg.expert_dirs[0]), episodes)
    for ep in demos:
        ep["image"] = fit_images(ep["image"], cfg.image_size)
    raw = [disc_on_episode(agent, ep) for ep in demos]
    demo_d, demo_r = (np.concatenate(parts) for parts in zip(*raw, strict=True))
    sets["expert demos"] = (demo_d, demo_r, [float(ep["reward"].sum()) for ep in demos])
    for noise in noises:
        d_parts, r_parts, returns = [], [], []
        for k in range(episodes):
            episode, ret, _ = run_episode(env, agent, cfg, noise, seed=EVAL_SEED + k)
            d, r = disc_on_episode(agent, episode)
            d_parts.append(d)
            r_parts.append(r)
            returns.append(ret)
        sets[f"agent, noise {noise:g}"] = (np.concatenate(d_parts), np.concatenate(r_parts), returns)
        print(f"{path}: noise {noise:g}, returns {np.round(returns, 1).tolist()}", flush=True)
    all_r = np.concatenate([r for _, r, _ in sets.values()])
    edges = np.linspace(float(all_r.min()), float(all_r.max()) + 1e-9, BINS + 1)
    return {
        "checkpoint": str(path),
        "task": str(cfg.env),
        "agent_steps": int(state["env_steps"]),
        "reward_bin_edges": edges.tolist(),
        "sets": {name: summarise(d, r, edges, rets) for name, (d, r, rets) in sets.items()},
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probes = results["policies"]
    fig, axes = plt.subplots(1, len(probes), figsize=(6 * len(probes), 4.2), squeeze=False)
    for ax, (label, probe) in zip(axes[0], probes.items(), strict=True):
        edges = np.asarray(probe["reward_bin_edges"])
        centres = 0.5 * (edges[1:] + edges[:-1])
        for name, s in probe["sets"].items():
            ys = [np.nan if y is None else y for y in s["d_per_reward_bin"]]
            corr = s["corr_log_d_reward"]
            corr_text = "n/a" if corr is None else f"{corr:+.2f}"
            ax.plot(
                centres,
                ys,
                marker="o",
                ls="--" if name == "expert demos" else "-",
                label=f"{name}: return {s['return_mean']:.0f}, corr(log D, r) {corr_text}",
            )
        ax.set_xlabel("environment reward of the step (bin centre)")
        ax.set_ylabel("mean D(z, a)")
        ax.set_ylim(0, 1)
        ax.set_title(f"{label}: {probe['agent_steps']} agent steps", fontsize=9)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"V-MAIL on {results['task']}: what the discriminator pays for")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy", action="append", default=[], metavar="LABEL=CHECKPOINT", help="a V-MAIL checkpoint"
    )
    parser.add_argument(
        "--noise", type=float, nargs="+", default=[0.0, 0.1, 0.3], help="collection noise levels"
    )
    parser.add_argument("--episodes", type=int, default=4, help="episodes per noise level (and expert demos)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if not args.policy:
        parser.error("give at least one --policy LABEL=CHECKPOINT")
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    if any(n < 0 for n in args.noise):
        parser.error("--noise levels must be >= 0")
    policies = parse_policies(args.policy, parser)
    import torch

    from training.checkpoint import CheckpointError
    from training.demos.episodes import EpisodeFormatError

    torch.set_num_threads(args.threads)
    try:
        probes = {label: probe_policy(path, args.noise, args.episodes) for label, path in policies.items()}
    except (CheckpointError, FileNotFoundError, EpisodeFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    task = only_task({p["task"] for p in probes.values()}, "checkpoints")
    if task is None:
        return 2
    results = {"task": task, "noise": args.noise, "episodes": args.episodes, "policies": probes}
    name = f"vmail_disc_probe_{task}" + (f"_{args.tag}" if args.tag else "")
    json_path = write_json(name, results, args.out)
    png_path = args.out / f"{name}.png"
    plot(results, png_path)
    for label, probe in probes.items():
        edges = np.round(probe["reward_bin_edges"], 2)
        print(f"{label} ({probe['agent_steps']} agent steps), reward bins {edges}:")
        for set_name, s in probe["sets"].items():
            bins = " ".join("  -  " if y is None else f"{y:.3f}" for y in s["d_per_reward_bin"])
            corr = s["corr_log_d_reward"]
            print(
                f"  {set_name:18s} return {s['return_mean']:7.1f}  D {s['d_mean']:.3f}  per bin [{bins}]  "
                f"corr(log D, r) {'n/a' if corr is None else f'{corr:+.2f}'}"
            )
    print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
