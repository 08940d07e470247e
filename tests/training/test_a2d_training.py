"""Short end-to-end runs: the projection and A2D steps really move the trainee; continuous actions work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from a2d_toy_envs import PointTargetBatched

from training.a2d.algorithm import A2DTrainer
from training.config import make_config
from training.loop import train

TINY = ["log.progress=false", "log.tensorboard=false", "threads=1"]


@pytest.fixture(scope="module")
def td_expert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Tiger Door RL (MDP) expert trained for 24k steps (~2 s): optimal when deterministic."""
    run = tmp_path_factory.mktemp("expert")
    out = train(
        make_config("rl_mdp_tiger_door", [*TINY, "total_steps=24576", "eval.every=0"]), run, resume=False
    )
    assert out["finished"]
    return run / "checkpoint.pt"


def _divergence(trainer: A2DTrainer, env) -> float:
    return trainer.evaluate(env, 99)["divergence"]


def test_ail_projection_reduces_divergence(td_expert: Path) -> None:
    from sim_bridges.registry import make_batched

    torch.manual_seed(0)
    cfg = make_config(
        "ail_tiger_door",
        [
            *TINY,
            f"expert_checkpoint={td_expert}",
            "num_envs=16",
            "rollout_steps=32",
            "projection.lr=1e-3",
            "projection.epochs=3",
        ],
    )
    from training.loop import expert_state_for

    env, ev = make_batched("tiger_door", 16), make_batched("tiger_door", 16)
    tr = A2DTrainer(cfg, env, env.info, expert_state_for(cfg))
    before = _divergence(tr, ev)
    for _ in range(3):
        tr.train_iteration()
    after = _divergence(tr, ev)
    assert before > 0.3  # the fresh trainee is ~uniform, the expert is nearly deterministic
    assert after < 0.6 * before, (before, after)


def test_a2d_iterations_pull_trainee_to_expert(td_expert: Path) -> None:
    """A2D (Compact) with an expert initialised from RL (MDP): mixture rollouts, IW TRPO, projection."""
    from sim_bridges.registry import make_batched

    torch.manual_seed(0)
    cfg = make_config(
        "a2d_compact_tiger_door",
        [*TINY, "num_envs=16", "rollout_steps=32", "projection.epochs=4", "projection.lr=1e-3"],
    )
    env, ev = make_batched("tiger_door", 16), make_batched("tiger_door", 16)
    tr = A2DTrainer(cfg, env, env.info)
    tr.nets["actor"].load_state_dict(torch.load(td_expert, weights_only=True)["trainer"]["nets"]["actor"])
    before = _divergence(tr, ev)
    stats = [tr.train_iteration() for _ in range(4)]
    after = _divergence(tr, ev)
    assert stats[1]["beta"] == pytest.approx(0.8) and "iw_mean" in stats[1]
    assert after < 0.7 * before, (before, after)


def point_rl(algo: str) -> list[str]:
    """State-policy RL on the point-target toy with step sizes large enough for a few iterations."""
    return [
        *TINY,
        "method=rl",
        "expert_input=state",
        "critic_input=state",
        f"rl.algo={algo}",
        "num_envs=32",
        "rollout_steps=20",
        "network.value_scale=5.0",
        "rl.ppo.lr=3e-3",
        "rl.trpo.max_kl=0.05",
    ]


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_continuous_rl_improves_and_projection_follows(algo: str) -> None:
    torch.manual_seed(0)
    over = point_rl(algo)
    env = PointTargetBatched(32)
    tr = A2DTrainer(make_config("rl_mdp_tiger_door", over), env, env.info)
    first = [tr.train_iteration()["train_return"] for _ in range(2)]
    for _ in range(10):
        last = tr.train_iteration()["train_return"]
    assert last > np.mean(first) + 0.5, (first, last)

    # AIL onto an image trainee with that Gaussian expert: the KL between Gaussians falls.
    ail = make_config(
        "ail_tiger_door",
        [
            *TINY,
            "expert_checkpoint=unused",
            "num_envs=32",
            "rollout_steps=20",
            "projection.epochs=5",
            "projection.lr=1e-3",
            "projection.augment=false",
        ],
    )
    env2, ev = PointTargetBatched(32), PointTargetBatched(32)
    tr2 = A2DTrainer(ail, env2, env2.info, tr.nets["actor"].state_dict())
    before = _divergence(tr2, ev)
    for _ in range(3):
        tr2.train_iteration()
    after = _divergence(tr2, ev)
    assert after < 0.5 * before, (before, after)


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_a2d_continuous_with_expert_kl_term_pulls_expert_to_trainee(algo: str) -> None:
    """Gaussian A2D (partial-state trainee) with a large κ: the expert moves toward the trainee."""
    torch.manual_seed(0)
    over = [
        *TINY,
        f"rl.algo={algo}",
        "trainee_input=partial_state",
        "num_envs=32",
        "rollout_steps=20",
        "network.value_scale=5.0",
        "a2d.beta_decay=0.5",
        "projection.epochs=0",
        "rl.ppo.lr=3e-3",
        "rl.trpo.max_kl=0.05",
    ]
    div = {}
    for kappa in (0.0, 20.0):
        env, ev = PointTargetBatched(32), PointTargetBatched(32)
        tr = A2DTrainer(
            make_config("a2d_compact_tiger_door", [*over, f"a2d.expert_kl_coef={kappa}"]), env, env.info
        )
        with torch.no_grad():  # make the trainee differ from the expert: a fixed drift to +0.5
            tr.nets["trainee"].body[-1].bias.fill_(0.5)
        stats = [tr.train_iteration() for _ in range(4)]
        assert "iw_mean" in stats[-1]
        div[kappa] = _divergence(tr, ev)
    assert div[20.0] < 0.5 * div[0.0], div


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_linear_anneal_shrinks_the_policy_step(algo: str) -> None:
    """rl.anneal=linear: scale 1, 3/4, 1/2, 1/4 over four iterations; PPO lr and TRPO's KL bound follow."""
    torch.manual_seed(0)
    over = [*point_rl(algo), "total_steps=2560", "rl.anneal=linear"]
    env = PointTargetBatched(32)
    tr = A2DTrainer(make_config("rl_mdp_tiger_door", over), env, env.info)
    stats = [tr.train_iteration() for _ in range(4)]
    assert [s["rl_step_scale"] for s in stats] == pytest.approx([1.0, 0.75, 0.5, 0.25])
    if algo == "ppo":
        assert tr.optims["actor"].param_groups[0]["lr"] == pytest.approx(3e-3 * 0.25)
    else:
        assert all(s["rl_kl"] <= 0.05 * s["rl_step_scale"] + 1e-6 for s in stats), stats
        assert stats[-1]["rl_kl"] > 0.0
    fixed_cfg = make_config("rl_mdp_tiger_door", [o for o in over if "anneal" not in o])
    fixed = A2DTrainer(fixed_cfg, env, env.info)
    fixed.env_steps = 1280
    assert fixed.step_size_scale() == 1.0
