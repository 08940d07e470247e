"""SQIL and DAC on DrQ-SAC: reward labels, the squashed-Gaussian log-prob, learning signals, a run."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from training.baselines_visual.dac import DACReward
from training.baselines_visual.dataset import FrameReplay
from training.baselines_visual.sac import DrQSAC, SACConfig, SquashedGaussianActor
from training.baselines_visual.sqil import sqil_batch


def _replay(value: int, n: int = 20, size: int = 16) -> FrameReplay:
    replay = FrameReplay(n + 1, (size, size, 3), 1, frame_stack=2)
    replay.begin_episode(np.full((size, size, 3), value, np.uint8))
    for _ in range(n):
        replay.add_step(np.array([value / 255.0]), np.full((size, size, 3), value, np.uint8), 5.0, 1.0)
    return replay


def test_sqil_labels_demos_one_and_agent_zero() -> None:
    gen = torch.Generator().manual_seed(0)
    batch = sqil_batch(_replay(200), _replay(10), 10, gen)
    assert batch["reward"].tolist() == [1.0] * 5 + [0.0] * 5  # the stored env reward (5) is ignored
    assert (batch["obs"][:5] == 200).all() and (batch["obs"][5:] == 10).all()
    assert batch["next_obs"].shape == (10, 2, 16, 16, 3)


def test_squashed_gaussian_log_prob_is_the_change_of_variables() -> None:
    torch.manual_seed(0)
    actor = SquashedGaussianActor(4, 2, 16)
    feats = torch.randn(6, 4)
    gen = torch.Generator().manual_seed(1)
    a, logp = actor.sample(feats, gen)
    mean, log_std = actor(feats)
    u = torch.atanh(a.clamp(-1 + 1e-6, 1 - 1e-6))
    expected = (Normal(mean, log_std.exp()).log_prob(u) - torch.log1p(-a.pow(2) + 1e-12)).sum(-1)
    assert a.abs().max() < 1
    torch.testing.assert_close(logp, expected, atol=1e-3, rtol=1e-3)


def test_critic_fits_the_reward_and_targets_trail() -> None:
    gen = torch.Generator().manual_seed(0)
    sac = DrQSAC((16, 16, 3), 1, SACConfig(frame_stack=2, hidden=32, gamma=0.0, shift_pad=1, lr=1e-3), gen)
    replay = _replay(100)
    batch = replay.transitions(torch.arange(len(replay)))
    batch["action"] = torch.linspace(-1, 1, len(replay))[:, None]
    reward = batch["action"][:, 0].clone()  # gamma 0: Q(o, a) must learn r = a
    target_before = [p.clone() for p in sac.critic_target.parameters()]
    first = sac.update(batch["obs"], batch["action"], reward, batch["next_obs"], batch["discount"])
    for _ in range(150):
        last = sac.update(batch["obs"], batch["action"], reward, batch["next_obs"], batch["discount"])
    assert last["critic_loss"] < 0.3 * first["critic_loss"]
    moved = [
        not torch.equal(a, b) for a, b in zip(target_before, sac.critic_target.parameters(), strict=True)
    ]
    assert all(moved)
    assert math.isfinite(last["actor_loss"]) and last["alpha"] > 0


def test_dac_discriminator_tells_demos_from_agent() -> None:
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    dac = DACReward((16, 16, 3), 2, 1, gen, shift_pad=1)
    demo, agent = _replay(220), _replay(30)
    d_obs, d_act = demo.observations(torch.arange(16))
    a_obs, a_act = agent.observations(torch.arange(16))
    before = float(dac.reward(d_obs, d_act).mean() - dac.reward(a_obs, a_act).mean())
    for _ in range(60):
        stats = dac.update(d_obs, d_act, a_obs, a_act)
    after = float(dac.reward(d_obs, d_act).mean() - dac.reward(a_obs, a_act).mean())
    assert stats["disc_accuracy"] == 1.0
    assert after > 1.0 and after > before + 1.0  # demo-like pairs now earn more reward


@pytest.mark.parametrize("method", ["sqil", "dac"])
def test_offpolicy_run_logs_return_vs_env_steps(method: str, tmp_path: Path) -> None:
    from training.baselines_visual.evaluation import CHECKPOINT_FORMAT
    from training.baselines_visual.offpolicy import OffPolicyConfig, train_offpolicy
    from training.checkpoint import CheckpointError, load_checkpoint
    from training.demos.collect import collect_demos

    torch.set_num_threads(1)
    collect_demos("cartpole_swingup", 1, tmp_path / "demos", image_size=16)
    cfg = OffPolicyConfig(
        method=method,
        task="cartpole_swingup",
        demos=str(tmp_path / "demos"),
        run_dir=str(tmp_path / "run"),
        env_steps=24,
        seed_steps=16,
        batch_size=8,
        eval_every=12,
        eval_episodes=1,
        sac=SACConfig(frame_stack=2, hidden=32, features=16, shift_pad=1),
    )
    row = train_offpolicy(cfg, log=lambda _: None)
    with open(tmp_path / "run" / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["env_steps"]) for r in rows] == [12, 24]
    assert rows[0]["critic_loss"] == ""  # no update during the random warm-up
    assert math.isfinite(float(rows[1]["critic_loss"])) and row["env_steps"] == 24
    assert float(rows[1]["expert_return_mean"]) > 800
    state = load_checkpoint(tmp_path / "run", fmt=CHECKPOINT_FORMAT)
    assert state["method"] == method and state["env_steps"] == 24
    with pytest.raises(CheckpointError, match="not an asymlearn checkpoint"):
        load_checkpoint(tmp_path / "run")  # never mistaken for an A2D checkpoint
    if method == "dac":
        assert "disc_accuracy" in rows[1]
