"""Algorithm 1's loop on a real environment (cartpole swing-up, rendered) and Algorithm 2's transfer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vmail_helpers import TINY, one_episode_config, random_episodes

from training.demos.episodes import episode_paths
from training.vmail.algorithm import VMAILTrainer, vmail_config
from training.vmail.replay import SequenceReplay
from training.vmail.transfer import make_source_tasks, zero_shot_transfer


def test_loop_collects_trains_checkpoints_and_resumes(tmp_path, capsys) -> None:
    pytest.importorskip("dm_control")
    cfg = one_episode_config(tmp_path)
    run_dir = tmp_path / "run"
    trainer = VMAILTrainer(cfg, run_dir, resume=False)
    out = trainer.train()
    assert out["env_steps"] == 500 and out["episodes"] == 1  # DMC: 500 agent steps per episode
    assert trainer.agent.updates == 4 and out["eval_return"] is not None
    (episode_file,) = episode_paths(run_dir / "episodes")
    with np.load(episode_file) as ep:
        # rendered at the model's size (vmail_cpu: 32 px), as the demos are recorded
        assert ep["image"].shape == (501, 32, 32, 3) and ep["action"].shape == (501, 1)
        assert not ep["action"][0].any() and np.abs(ep["action"]).max() <= 1
    resumed = VMAILTrainer(cfg, run_dir, resume=True)
    assert (resumed.env_steps, resumed.agent.updates, len(resumed.policy)) == (500, 4, 1)
    for a, b in zip(resumed.agent.parameters(), trainer.agent.parameters(), strict=True):
        assert torch.equal(a, b)

    # `asymlearn export` reads the V-MAIL checkpoint and writes the recurrent ONNX policy.
    from policies.runtime import PolicyRunner
    from training.cli import main

    onnx_path = tmp_path / "policy.onnx"
    assert main(["export", str(run_dir / "checkpoint.pt"), "--out", str(onnx_path)]) == 0
    runner = PolicyRunner(onnx_path)
    assert runner.metadata.provenance.algorithm == "V-MAIL"
    assert runner.metadata.provenance.environment == "cartpole_swingup"
    assert runner.metadata.provenance.extra["env_steps"] == 500
    frames = np.zeros((2, 32, 32, 3), np.uint8)
    assert runner.act_batch(frames, episode_start=np.ones(2, bool)).shape == (2, 1)
    assert main(["export", str(run_dir / "checkpoint.pt"), "--which", "expert"]) == 1
    # ... and `asymlearn evaluate` runs it through ONNX Runtime on frames of the model's size.
    import json

    capsys.readouterr()
    assert main(["evaluate", str(onnx_path), "--episodes", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["environment"] == "cartpole_swingup" and report["episodes"] == 1
    assert 0.0 <= report["deterministic"]["mean"] <= 1000.0


def test_best_evaluation_policy_is_kept_apart_from_the_last(tmp_path, monkeypatch) -> None:
    """A run that learns and then loses the task must still hand over the good policy."""
    pytest.importorskip("dm_control")
    from training.checkpoint import load_checkpoint
    from training.cli import main
    from training.vmail import algorithm
    from training.vmail.algorithm import BEST, FORMAT

    scripted = iter([1.0, 5.0, 2.0])  # evaluation returns: the second evaluation is the best
    real_run_episode = algorithm.run_episode

    def run_episode(env, agent, cfg, explore, seed=None):
        episode, ret, steps = real_run_episode(env, agent, cfg, explore, seed=seed)
        return episode, (next(scripted) if explore == 0.0 else ret), steps

    monkeypatch.setattr(algorithm, "run_episode", run_episode)
    cfg = one_episode_config(tmp_path, "train.total_steps=1500", "train.eval_every=500")
    run_dir = tmp_path / "run"
    trainer = VMAILTrainer(cfg, run_dir, resume=False)
    out = trainer.train()
    assert out["eval_return"] == 2.0 and trainer.best_eval == 5.0
    best = load_checkpoint(run_dir / BEST, fmt=FORMAT)
    last = load_checkpoint(run_dir, fmt=FORMAT)
    # evaluated at 500 env steps, after pretraining (2) and one round of training (2)
    assert (best["best_eval"], best["eval_env_steps"], best["updates"]) == (5.0, 500, 4)
    assert (last["env_steps"], last["updates"]) == (1500, 8)
    actor_keys = [k for k in last["agent"] if k.startswith("actor.")]
    assert actor_keys and any(not torch.equal(best["agent"][k], last["agent"][k]) for k in actor_keys)
    assert VMAILTrainer(cfg, run_dir, resume=True).best_eval == 5.0
    assert main(["export", str(run_dir / BEST), "--out", str(tmp_path / "best.onnx")]) == 0
    # A kill between writing best.pt and the next checkpoint: checkpoint.pt still holds the
    # older best, and the resumed run must take the better one from best.pt.
    from training.checkpoint import save_checkpoint

    save_checkpoint(run_dir, {**last, "best_eval": 1.0}, fmt=FORMAT)
    assert VMAILTrainer(cfg, run_dir, resume=True).best_eval == 5.0
    (run_dir / BEST).write_bytes(b"damaged")  # a damaged best.pt is reported and ignored
    assert VMAILTrainer(cfg, run_dir, resume=True).best_eval == 1.0


def test_keep_best_off_writes_no_best_file(tmp_path) -> None:
    pytest.importorskip("dm_control")
    from training.vmail.algorithm import BEST

    cfg = one_episode_config(tmp_path, "train.keep_best=false")
    VMAILTrainer(cfg, tmp_path / "run", resume=False).train()
    assert (tmp_path / "run" / "checkpoint.pt").exists() and not (tmp_path / "run" / BEST).exists()


def test_state_head_run_checkpoints_its_normaliser_and_exports_without_it(tmp_path) -> None:
    pytest.importorskip("dm_control")
    from training.checkpoint import load_checkpoint
    from training.cli import main
    from training.vmail.algorithm import FORMAT, agent_from_checkpoint

    cfg = one_episode_config(tmp_path, "model.state_scale=1.0")
    trainer = VMAILTrainer(cfg, tmp_path / "run", resume=False)
    trainer.train()
    state = load_checkpoint(tmp_path / "run", fmt=FORMAT)
    assert state["state_dim"] == 5
    _, agent = agent_from_checkpoint(state)
    head = agent.world.state_head
    assert head is not None
    torch.testing.assert_close(head.scale, trainer.agent.world.state_head.scale)
    assert main(["export", str(tmp_path / "run" / "checkpoint.pt"), "--out", str(tmp_path / "p.onnx")]) == 0


def test_resume_refuses_a_checkpoint_of_another_task_or_size_by_name(tmp_path) -> None:
    pytest.importorskip("dm_control")
    from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from training.vmail.algorithm import FORMAT

    cfg = one_episode_config(tmp_path, "model.state_scale=1.0")
    run_dir = tmp_path / "run"
    VMAILTrainer(cfg, run_dir, resume=False).train()
    state = load_checkpoint(run_dir, fmt=FORMAT)
    # saved by a head that took state dim 1 for an angle (old reacher runs differ the same way)
    save_checkpoint(run_dir, {**state, "state_angle_dims": [1]}, fmt=FORMAT)
    with pytest.raises(CheckpointError, match=r"state head for angles \[1\].*--no-resume"):
        VMAILTrainer(cfg, run_dir, resume=True)
    assert VMAILTrainer(cfg, run_dir, resume=False).env_steps == 0  # --no-resume still starts over
    other_env = state["config"].replace("cartpole_swingup", "reacher_easy")
    assert other_env != state["config"]
    save_checkpoint(run_dir, {**state, "config": other_env}, fmt=FORMAT)
    asked = "trained on env=reacher_easy, this run asks for env=cartpole_swingup"
    with pytest.raises(CheckpointError, match=asked):
        VMAILTrainer(cfg, run_dir, resume=True)
    save_checkpoint(run_dir, state, fmt=FORMAT)
    wider = one_episode_config(tmp_path, "model.state_scale=1.0", "model.hidden=24")
    with pytest.raises(CheckpointError, match="networks of other sizes than this config builds"):
        VMAILTrainer(wider, run_dir, resume=True)
    assert VMAILTrainer(cfg, run_dir, resume=True).env_steps == 500  # the run's own settings resume


def test_zero_shot_transfer_uses_no_env_and_shares_the_model(tmp_path) -> None:
    pytest.importorskip("dm_control")
    import sim_bridges

    cfg = vmail_config("vmail_cpu", TINY)
    envs = [sim_bridges.make("cartpole_swingup", image_size=32) for _ in range(2)]
    experts = []
    for i in range(3):
        random_episodes(tmp_path / f"e{i}", 2, 12, action_dim=1, seed=i)
        replay = SequenceReplay(32, 3, seed=i)
        replay.load_dir(tmp_path / f"e{i}")
        experts.append(replay)
    sources, world = make_source_tasks(cfg, [("a", envs[0], experts[0]), ("b", envs[1], experts[1])])
    assert sources[0].agent.world is sources[1].agent.world is world
    assert sources[0].agent.opts["model"] is sources[1].agent.opts["model"]
    assert sources[0].agent.actor is not sources[1].agent.actor
    before = [p.detach().clone() for p in world.parameters()]
    pool = SequenceReplay(32, 3)
    seen: list[tuple[int, int]] = []
    target, rows = zero_shot_transfer(
        cfg,
        world,
        experts[2],
        pool,
        updates=3,
        model_opt=sources[0].agent.opts["model"],
        on_progress=lambda k, agent: seen.append((k, agent.updates)),
        progress_every=2,
    )
    assert len(rows) == 3 and target.world is world and target.updates == 3
    assert seen == [(2, 2), (3, 3)]  # every 2 updates and after the last
    assert all(np.isfinite(r["model_loss"]) for r in rows)
    assert any(not torch.equal(a, b) for a, b in zip(before, world.parameters(), strict=True))  # fine-tuned
    for env in envs:
        env.close()
