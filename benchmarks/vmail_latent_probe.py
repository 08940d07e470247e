"""What the V-MAIL world model has learnt to see: linear probes from its latent to the privileged state.

For a V-MAIL run (checkpoint + the agent episodes it wrote), each episode of the expert's demos
and the agent's last ``--agent-episodes`` is filtered by the model's posterior (deterministic:
the posterior mean). Ridge regressions from the features [h, z] to each privileged state
dimension are fitted on half of a set's episodes (alternate episodes) and scored on the other
half, as R² against the variance of the whole set (and RMSE in the state's units):
- ``expert``: fitted and scored on expert episodes;
- ``agent``: fitted and scored on the agent's episodes;
- ``expert_to_agent``: fitted on the expert's and scored on the agent's, which asks whether the
  states the agent visits are represented the way the expert's are.
It also reports the decoder's reconstruction error per frame on both sets. A state the probe
cannot read from the agent's latents is one neither D nor the actor can react to.

Run: ``asymlearn benchmark vmail_latent_probe --run-dir RUN`` (RUN holds checkpoint.pt and
episodes/). Writes docs/benchmarks/vmail_latent_probe_<env>[_<tag>].json and .png (``--out``, ``--tag``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import RESULTS_DIR, write_json

LABELS = {
    "expert": "expert (fit and test on expert episodes)",
    "agent": "agent (fit and test on agent episodes)",
    "expert_to_agent": "fit on expert, test on agent",
}


def posterior_features(agent: Any, episode: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """(features (T+1, F), mean squared reconstruction error per pixel in [-0.5, 0.5] units)."""
    images = torch.as_tensor(episode["image"][None])
    actions = torch.as_tensor(episode["action"][None], dtype=torch.float32)
    with torch.no_grad():
        x = agent._images(images)
        post, _ = agent.world.rssm.observe(agent.world.encoder(x), actions, sample=False)
        feat = post.feat()
        recon = agent.world.decoder(feat)
        err = float(((recon - x) ** 2).mean())
    return feat[0].numpy().astype(np.float64), err


def ridge_predict(
    x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray, alpha: float = 1e-3
) -> np.ndarray:
    """Ridge regression (standardised inputs, intercept) fitted on one set, applied to another."""
    mu, sd = x_fit.mean(0), x_fit.std(0)
    # A feature nearly constant on the fit set would blow up on the test set once standardised.
    sd = np.maximum(sd, 0.1 * np.median(sd) + 1e-8)
    a = np.hstack([(x_fit - mu) / sd, np.ones((len(x_fit), 1))])
    b = np.hstack([(x_test - mu) / sd, np.ones((len(x_test), 1))])
    reg = alpha * len(a) * np.eye(a.shape[1])
    reg[-1, -1] = 0.0
    return b @ np.linalg.solve(a.T @ a + reg, a.T @ y_fit)


def explained(pred: np.ndarray, truth: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """1 - held-out MSE / the whole set's variance, per output (R² against the set, not the half).

    A half-set's own variance is the wrong yardstick here: the expert sits on the target for
    most of an episode, so within a few episodes ``to_target`` barely varies at all.
    """
    return 1.0 - ((pred - truth) ** 2).mean(0) / (variance + 1e-12)


def state_names(env_name: str, dim: int) -> list[str]:
    """The suite's observation keys per dimension where the environment reports them."""
    import sim_bridges

    env = sim_bridges.make(env_name, render=False)
    try:
        names = getattr(env, "state_names", None)
        return list(names) if names is not None and len(names) == dim else [f"s{i}" for i in range(dim)]
    finally:
        env.close()


def split_halves(episodes: list[dict[str, np.ndarray]]) -> tuple[list[int], list[int]]:
    idx = list(range(len(episodes)))
    return idx[0::2], idx[1::2]


def probe(args: argparse.Namespace) -> dict[str, Any]:
    from training.checkpoint import load_checkpoint
    from training.demos.episodes import episode_paths, read_episode
    from training.vmail.algorithm import FORMAT, agent_from_checkpoint

    torch.set_num_threads(args.threads)
    run = Path(args.run_dir)
    state = load_checkpoint(run, fmt=FORMAT)
    cfg, agent = agent_from_checkpoint(state)
    agent.eval()
    demos = Path(args.demos or cfg.expert_dirs[0])
    expert_eps = [read_episode(p) for p in episode_paths(demos)]
    agent_paths = episode_paths(run / "episodes")
    if len(agent_paths) < 2 or len(expert_eps) < 2:
        raise SystemExit(f"need >= 2 episodes in {run / 'episodes'} and in {demos}")
    agent_eps = [read_episode(p) for p in agent_paths[-args.agent_episodes :]]
    sets: dict[str, Any] = {}
    for name, eps in (("expert", expert_eps), ("agent", agent_eps)):
        feats, errs = zip(*(posterior_features(agent, e) for e in eps), strict=True)
        states = [e["state"].astype(np.float64) for e in eps]
        sets[name] = {"feats": list(feats), "states": states, "errs": errs}

    def stacked(name: str, which: list[int]) -> tuple[np.ndarray, np.ndarray]:
        s = sets[name]
        return np.concatenate([s["feats"][i] for i in which]), np.concatenate([s["states"][i] for i in which])

    r2: dict[str, list[float]] = {}
    rmse: dict[str, list[float]] = {}
    everything = {k: list(range(len(sets[k]["feats"]))) for k in sets}
    set_var = {k: stacked(k, everything[k])[1].var(0) for k in sets}
    for label, fit_set, test_set in (
        ("expert", "expert", "expert"),
        ("agent", "agent", "agent"),
        ("expert_to_agent", "expert", "agent"),
    ):
        if fit_set == test_set:
            fit, test = split_halves(sets[fit_set]["feats"])
        else:
            fit, test = everything[fit_set], everything[test_set]
        x_fit, y_fit = stacked(fit_set, fit)
        x_test, y_test = stacked(test_set, test)
        pred = ridge_predict(x_fit, y_fit, x_test, alpha=args.alpha)
        r2[label] = explained(pred, y_test, set_var[test_set]).tolist()
        rmse[label] = np.sqrt(((pred - y_test) ** 2).mean(0)).tolist()
    dim = len(r2["expert"])
    return {
        "run_dir": str(run),
        "environment": cfg.env,
        "agent_steps": int(state["env_steps"]),
        "updates": int(state["updates"]),
        "demos": str(demos),
        "expert_episodes": len(expert_eps),
        "agent_episodes": len(agent_eps),
        "feature_dim": int(sets["expert"]["feats"][0].shape[1]),
        "ridge_alpha": args.alpha,
        "state_names": state_names(cfg.env, dim),
        "r2": r2,
        "rmse": rmse,
        "state_sd": {k: np.sqrt(v).tolist() for k, v in set_var.items()},
        "reconstruction_mse": {k: float(np.mean(sets[k]["errs"])) for k in ("expert", "agent")},
        "agent_returns": [float(e["reward"].sum()) for e in agent_eps],
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = results["state_names"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(names) + 2), 3.8))
    width = 0.27
    for k, (label, values) in enumerate(results["r2"].items()):
        xs = np.arange(len(names)) + (k - 1) * width
        ax.bar(xs, np.clip(values, -0.5, 1.0), width, label=LABELS.get(label, label))
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(-0.5, 1.05)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("held-out R² of a linear probe\n(vs the set's variance; clipped at -0.5)")
    mse = results["reconstruction_mse"]
    ax.set_title(
        f"{results['environment']}: latent → privileged state after {results['agent_steps']} agent steps\n"
        f"reconstruction MSE per pixel: expert {mse['expert']:.4f}, agent {mse['agent']:.4f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="V-MAIL run directory (checkpoint.pt, episodes/)")
    parser.add_argument("--demos", default=None, help="expert episodes (default: the run's expert_dirs[0])")
    parser.add_argument("--agent-episodes", type=int, default=10, help="the agent's last N episodes")
    parser.add_argument("--alpha", type=float, default=1e-3, help="ridge penalty (x number of samples)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument(
        "--tag", default="", help="appended to the file name, to keep several runs of one task"
    )
    args = parser.parse_args(argv)
    results = probe(args)
    out = Path(args.out)
    name = f"vmail_latent_probe_{results['environment']}" + (f"_{args.tag}" if args.tag else "")
    write_json(name, results, out)
    plot(results, out / f"{name}.png")
    for label, values in results["r2"].items():
        pairs = zip(results["state_names"], values, strict=True)
        print(f"R² {label:>15}: " + ", ".join(f"{n} {v:.2f}" for n, v in pairs))
    print(f"reconstruction MSE: {results['reconstruction_mse']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
