"""V-MAIL world model, imagination, replay and a short training run on synthetic sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vmail_helpers import TINY, A, synthetic_episode

from training.demos.episodes import write_episode
from training.vmail.agent import VMAILAgent
from training.vmail.algorithm import agent_from_checkpoint, vmail_config
from training.vmail.losses import LOG_2PI
from training.vmail.networks import ConvDecoder, ConvEncoder, PrivilegedStateHead, SpatialBroadcastDecoder
from training.vmail.replay import EpisodeFormatError, SequenceReplay, normalise_episode, union_sample


def tiny_cfg(**extra: str) -> object:
    overrides = [*TINY, "behavior.horizon=5", "train.length=6"] + [f"{k}={v}" for k, v in extra.items()]
    return vmail_config("vmail_cpu", overrides)


@pytest.mark.parametrize("size", [32, 48, 64, 128])
def test_encoder_decoder_shapes(size: int) -> None:
    enc = ConvEncoder(size, 3, depth=4)
    dec = ConvDecoder(10, size, 3, depth=4)
    x = torch.zeros(2, 3, 3, size, size)
    assert enc(x).shape == (2, 3, enc.embed_dim)
    assert dec(torch.zeros(2, 3, 10)).shape == (2, 3, 3, size, size)
    with pytest.raises(ValueError, match="not supported"):
        ConvEncoder(40)


def test_paper_sizes() -> None:
    cfg = vmail_config("vmail_paper")
    agent = VMAILAgent(cfg, 6)
    assert agent.world.encoder.embed_dim == 1024  # 64 -> 31 -> 14 -> 6 -> 2, 256 channels
    assert agent.world.rssm.feat_dim == 230
    assert (cfg.train.batch, cfg.train.length) == (50, 50)
    assert vmail_config("vmail_paper_official_batch").train.batch == 128


def test_observe_and_imagination_shapes() -> None:
    torch.manual_seed(0)
    agent = VMAILAgent(tiny_cfg(), A)
    rssm = agent.world.rssm
    embed = torch.randn(3, 7, agent.world.encoder.embed_dim)
    post, prior = rssm.observe(embed, torch.zeros(3, 7, A))
    assert post.stoch.shape == (3, 7, 4) and post.deter.shape == (3, 7, 16)
    assert torch.equal(post.deter, prior.deter)  # posterior shares the prior's deterministic state
    start = post.map(lambda t: t[:, :-1].reshape(-1, t.shape[-1]))
    feats, actions = rssm.imagine(start, agent.actor.sample, horizon=5)
    assert feats.shape == (6, 18, 20) and actions.shape == (5, 18, A)
    assert torch.equal(feats[0], start.feat())
    assert actions.abs().max() <= 1  # tanh-squashed (init std 5 saturates some to ±1 in fp32)


def test_expert_pairs_are_shifted() -> None:
    agent = VMAILAgent(tiny_cfg(), A)
    ep = synthetic_episode(np.random.default_rng(0), 6)
    batch = {k: ep[k][None] for k in ("image", "action")}
    pairs, _ = agent.expert_pairs(batch)
    F = agent.world.rssm.feat_dim
    assert pairs.shape == (6, 2 * F + A)
    # (z_t, a_{t+1}, z_{t+1}): action[t+1] is the action taken at observation t
    torch.testing.assert_close(pairs[:, F : F + A], torch.from_numpy(ep["action"][1:]))
    torch.testing.assert_close(pairs[1:, :F], pairs[:-1, F + A :])  # z_{t+1} is the next row's z


def test_open_loop_expert_pairs_restart_from_the_posterior_every_horizon() -> None:
    torch.manual_seed(0)
    agent = VMAILAgent(tiny_cfg(), A)  # horizon 5
    rssm = agent.world.rssm
    embed = torch.randn(2, 12, agent.world.encoder.embed_dim)
    actions = torch.rand(2, 12, A) * 2 - 1
    post, _ = rssm.observe(embed, actions, sample=False)
    torch.manual_seed(1)
    feats = rssm.open_loop(post, actions, horizon=5)
    assert feats.shape == post.feat().shape
    for t in (0, 5, 10):  # restarts: exactly the filter's state
        torch.testing.assert_close(feats[:, t], post.feat()[:, t])
    # in between: the prior rolled on the expert's actions, not the filter
    torch.manual_seed(1)
    state = post.map(lambda x: x[:, 0])
    state = rssm.img_step(state, actions[:, 1])
    torch.testing.assert_close(feats[:, 1], state.feat())
    assert not torch.allclose(feats[:, 1], post.feat()[:, 1])


def test_open_loop_pairs_keep_the_shifted_actions() -> None:
    agent = VMAILAgent(tiny_cfg(**{"disc.expert_pairs": "open_loop"}), A)
    ep = synthetic_episode(np.random.default_rng(0), 6)
    pairs, bc_pairs = agent.expert_pairs({k: ep[k][None] for k in ("image", "action")})
    F = agent.world.rssm.feat_dim
    torch.testing.assert_close(pairs[:, F : F + A], torch.from_numpy(ep["action"][1:]))
    torch.testing.assert_close(bc_pairs[:, F : F + A], pairs[:, F : F + A])
    with pytest.raises(ValueError, match="expert_pairs"):
        VMAILAgent(tiny_cfg(**{"disc.expert_pairs": "bogus"}), A)


def test_discriminator_on_stoch_drops_the_gru_state() -> None:
    agent = VMAILAgent(tiny_cfg(**{"disc.features": "stoch"}), A)
    rssm = agent.world.rssm
    F, S = rssm.feat_dim, rssm.stoch_dim
    steps = torch.randn(7, 2 * F + A)
    d_in = agent.disc_input(steps)
    assert d_in.shape == (7, S + A)
    torch.testing.assert_close(d_in, torch.cat([steps[:, :S], steps[:, F : F + A]], -1))
    assert agent.disc(d_in).shape == (7,)
    full = VMAILAgent(tiny_cfg(), A)
    torch.testing.assert_close(full.disc_input(steps), steps[:, : F + A])  # the paper's [z_t, a]
    with pytest.raises(ValueError, match=r"disc\.features"):
        VMAILAgent(tiny_cfg(**{"disc.features": "deter"}), A)


@pytest.mark.parametrize(
    ("inputs", "features"), [("state", "feat"), ("transition", "feat"), ("transition", "stoch")]
)
def test_state_only_discriminators_never_see_the_action(inputs: str, features: str) -> None:
    torch.manual_seed(0)
    agent = VMAILAgent(tiny_cfg(**{"disc.inputs": inputs, "disc.features": features}), A)
    rssm = agent.world.rssm
    F = rssm.feat_dim
    z_dim = rssm.stoch_dim if features == "stoch" else F
    steps = torch.randn(5, 2 * F + A)
    d_in = agent.disc_input(steps)
    assert d_in.shape == (5, z_dim if inputs == "state" else 2 * z_dim)
    other = steps.clone()
    other[:, F : F + A] = torch.randn(5, A)  # different actions, same states
    torch.testing.assert_close(agent.disc(agent.disc_input(other)), agent.disc(d_in))
    if inputs == "transition":
        torch.testing.assert_close(d_in[:, z_dim:], steps[:, F + A : F + A + z_dim])
        # imagined steps: D scores z_t -> z_{t+1}, so its reward reaches the action only through the model
        ep = synthetic_episode(np.random.default_rng(0), 8)
        metrics = agent.update(
            {k: ep[k][None] for k in ("image", "action")}, {k: ep[k][None] for k in ("image", "action")}
        )
        assert np.isfinite(metrics["disc_loss"]) and np.isfinite(metrics["actor_loss"])
    with pytest.raises(ValueError, match=r"disc\.inputs"):
        VMAILAgent(tiny_cfg(**{"disc.inputs": "action"}), A)


def test_bc_weight_pulls_the_actor_towards_the_expert_actions() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    eps = [synthetic_episode(rng, 8) for _ in range(4)]
    batch = {k: np.stack([e[k] for e in eps]) for k in ("image", "action")}
    batch["action"][:, 1:] = 0.5  # an expert whose action is predictable: BC can fit it exactly
    losses = {}
    for weight in (0.0, 10.0):
        torch.manual_seed(0)
        overrides = {"behavior.bc_weight": str(weight), "train.length": "8", "behavior.actor_lr": "3e-3"}
        cfg = tiny_cfg(**overrides)
        agent = VMAILAgent(cfg, A)
        for _ in range(30):
            metrics = agent.update(batch, batch)
        _, bc_pairs = agent.expert_pairs(batch)
        f = agent.world.rssm.feat_dim
        with torch.no_grad():
            error = agent.actor.mode(bc_pairs[:, :f]) - bc_pairs[:, f : f + A]
        losses[weight] = float((error**2).sum(-1).mean())
        assert ("bc_loss" in metrics) == (weight > 0)
    assert losses[10.0] < 0.05 < losses[0.0]


def test_env_reward_source_trains_a_reward_head_and_drives_the_actor() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    eps = [synthetic_episode(rng, 8) for _ in range(4)]
    batch = {k: np.stack([e[k] for e in eps]) for k in ("image", "action", "reward")}
    batch["reward"] = batch["image"][..., 0].mean((-1, -2)).astype(np.float32) / 50.0  # known per frame
    agent = VMAILAgent(tiny_cfg(**{"behavior.reward_source": "env", "train.length": "9"}), A)
    assert agent.world.reward_head is not None and VMAILAgent(tiny_cfg(), A).world.reward_head is None
    first = agent.update(batch, batch)["reward_log_lik"]
    for _ in range(40):
        metrics = agent.update(batch, batch)
    assert metrics["reward_log_lik"] > first + 0.1, (first, metrics)  # the head learns r_t from z_t
    assert metrics["reward_mean"] > 0.1  # imagined rewards are the head's (log D is always < 0)
    with pytest.raises(ValueError, match=r"behavior\.reward_source"):
        VMAILAgent(tiny_cfg(**{"behavior.reward_source": "oracle"}), A)


def test_privileged_state_head_teaches_the_latent_the_sim_state() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    replay = SequenceReplay(32, 3, seed=0, with_state=True)
    for _ in range(6):
        replay.add(synthetic_episode(rng, 20))
    cfg = tiny_cfg(**{"model.state_scale": "1.0", "train.length": "10"})
    agent = VMAILAgent(cfg, A, state_dim=2)
    head = agent.world.state_head
    assert head is not None and VMAILAgent(tiny_cfg(), A).world.state_head is None
    states = np.concatenate([ep["state"] for ep in replay.episodes])
    head.set_normaliser(states)
    torch.testing.assert_close(head.mean, torch.as_tensor(states.mean(0)))
    batch = replay.sample(8, 10)
    assert batch["state"].shape == (8, 10, 2)
    first = agent.update(batch, batch)["state_log_lik"]
    for _ in range(40):
        metrics = agent.update(replay.sample(8, 10), batch)
    # −log N(s|ŝ,1) ≥ ½ log 2π per dimension: the head (and the latent under it) learns the state
    assert metrics["state_log_lik"] > first + 0.5, (first, metrics["state_log_lik"])
    assert "state_log_lik" not in VMAILAgent(tiny_cfg(), A).update(batch, batch)
    with pytest.raises(ValueError, match="state_scale"):
        VMAILAgent(cfg, A)  # no state dimension: the head cannot be built
    stateless = synthetic_episode(rng, 5)
    del stateless["state"]
    with pytest.raises(EpisodeFormatError, match="missing key 'state'"):
        replay.add(stateless)


def test_state_head_predicts_angles_as_cos_sin() -> None:
    """An angle and the same angle two turns on show the same frame, so they get one target."""
    head = PrivilegedStateHead(feat_dim=8, state_dim=3, units=16, angle_dims=(0,))
    states = np.array([[0.5, 1.0, -2.0], [0.5 + 4 * np.pi, 3.0, 2.0], [-1.0, 2.0, 0.0]])
    head.set_normaliser(states)
    t = head.targets(torch.as_tensor(states, dtype=torch.float32))
    assert t.shape == (3, 4) and head(torch.zeros(5, 8)).shape == (5, 4)  # cos in place, sin last
    torch.testing.assert_close(t[0, [0, 3]], t[1, [0, 3]], atol=1e-5, rtol=0)
    torch.testing.assert_close(t[2, [0, 3]], torch.tensor([np.cos(-1.0), np.sin(-1.0)], dtype=torch.float32))
    torch.testing.assert_close(t[:, 1], torch.tensor([-1.0, 1.0, 0.0]) / float(np.std([1.0, 3.0, 2.0])))
    with pytest.raises(ValueError, match="angle_dims"):
        PrivilegedStateHead(feat_dim=8, state_dim=3, units=16, angle_dims=(3,))


def test_checkpoint_rebuilds_the_state_head_with_its_angles() -> None:
    cfg = tiny_cfg(**{"model.state_scale": "1.0"})
    agent = VMAILAgent(cfg, A, state_dim=3, state_angle_dims=(1,))
    saved = {"config": cfg.to_yaml(), "agent": agent.state_dict(), "action_dim": A, "updates": 0}
    _, rebuilt = agent_from_checkpoint({**saved, "state_dim": 3, "state_angle_dims": [1]})
    assert rebuilt.world.state_head is not None and rebuilt.world.state_head.angle_dims == (1,)
    with pytest.raises(RuntimeError, match="size mismatch"):  # the head's width depends on them
        agent_from_checkpoint({**saved, "state_dim": 3})


def test_actor_std_floor_comes_from_the_config() -> None:
    agent = VMAILAgent(tiny_cfg(**{"behavior.min_std": "0.3", "behavior.init_std": "1e-3"}), A)
    with torch.no_grad():
        _, std = agent.actor.dist_params(torch.randn(64, agent.world.rssm.feat_dim))
    assert float(std.min()) >= 0.3 and float(std.max()) < 0.31


def test_replay_roundtrip_resize_and_errors(tmp_path) -> None:
    rng = np.random.default_rng(1)
    for _ in range(2):
        write_episode(tmp_path, synthetic_episode(rng, 10, size=64))
    replay = SequenceReplay(image_size=32, channels=3)
    assert replay.load_dir(tmp_path) == 2 and replay.steps == 20
    batch = replay.sample(5, 8)
    assert batch["image"].shape == (5, 8, 32, 32, 3) and batch["image"].dtype == np.uint8
    assert batch["action"].shape == (5, 8, A)
    with pytest.raises(ValueError, match="no episode has 12 steps"):
        replay.sample(2, 12)
    bad = synthetic_episode(rng, 4)
    bad["action"][2] = 3.0
    with pytest.raises(EpisodeFormatError, match=r"normalised to \[-1, 1\]"):
        normalise_episode(bad, 32, 3)
    empty = SequenceReplay(32, 3)
    mixed = union_sample([replay, empty], 6, 8, np.random.default_rng(0))
    assert mixed["image"].shape[0] == 6
    with pytest.raises(FileNotFoundError):
        empty.load_dir(tmp_path / "missing")


def test_union_sample_marks_sources_and_honours_fixed_shares() -> None:
    rng = np.random.default_rng(3)
    expert, policy = SequenceReplay(32, 3, seed=0), SequenceReplay(32, 3, seed=1)
    for _ in range(9):
        expert.add(synthetic_episode(rng, 10))
    policy.add(synthetic_episode(rng, 10))
    draws = np.random.default_rng(0)
    proportional = np.concatenate([union_sample([expert, policy], 50, 4, draws)["source"] for _ in range(40)])
    assert 0.06 < proportional.mean() < 0.14  # 1 episode in 10
    halves = np.concatenate(
        [union_sample([expert, policy], 50, 4, draws, [0.5, 0.5])["source"] for _ in range(40)]
    )
    assert 0.45 < halves.mean() < 0.55
    only_expert = union_sample([expert, SequenceReplay(32, 3)], 8, 4, draws, [0.5, 0.5])
    assert (only_expert["source"] == 0).all()  # an empty replay gives its share away
    with pytest.raises(ValueError, match="shares"):
        union_sample([expert, policy], 8, 4, draws, [1.0])


def test_imagination_can_start_from_the_agents_own_windows_only() -> None:
    own = VMAILAgent(tiny_cfg(**{"train.imagine_from": "policy"}), A)
    data = {"from_policy": np.array([False, True, False, True])}
    assert own.imagination_rows(data).tolist() == [1, 3]
    assert own.imagination_rows({"from_policy": np.zeros(4, bool)}) == slice(None)  # none yet: all
    assert VMAILAgent(tiny_cfg(), A).imagination_rows(data) == slice(None)  # the authors' default
    rng = np.random.default_rng(0)
    eps = [synthetic_episode(rng, 8) for _ in range(4)]
    batch = {k: np.stack([e[k] for e in eps]) for k in ("image", "action", "reward")}
    metrics = own.update({**batch, "from_policy": data["from_policy"]}, batch)
    assert np.isfinite(metrics["actor_loss"])
    with pytest.raises(ValueError, match=r"train\.imagine_from"):
        VMAILAgent(tiny_cfg(**{"train.imagine_from": "expert"}), A)


def test_start_fraction_draws_windows_from_the_episode_start() -> None:
    rng = np.random.default_rng(2)
    eps = [synthetic_episode(rng, 60) for _ in range(3)]
    uniform, starts = SequenceReplay(32, 3, seed=0), SequenceReplay(32, 3, seed=0, start_fraction=0.5)
    always = SequenceReplay(32, 3, seed=0, start_fraction=1.0)
    for replay in (uniform, starts, always):
        for ep in eps:
            replay.add(ep)
    # a window begins at the episode start exactly when its first action row is the zero row 0
    share = {
        name: float((~r.sample(400, 8)["action"][:, 0].any(-1)).mean())
        for name, r in {"uniform": uniform, "starts": starts, "always": always}.items()
    }
    assert share["uniform"] < 0.05 and 0.4 < share["starts"] < 0.6 and share["always"] == 1.0
    with pytest.raises(ValueError, match="start_fraction"):
        SequenceReplay(32, 3, start_fraction=1.5)


@pytest.mark.parametrize("decoder", ["conv", "broadcast"])
def test_short_training_lowers_model_loss(decoder: str) -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = tiny_cfg(
        **{
            "train.batch": "8",
            "train.length": "10",
            "model.lr": "3e-3",
            "model.free_nats": "0.0",
            "model.decoder": decoder,
            "model.broadcast_width": "16",
        }
    )
    agent = VMAILAgent(cfg, A)
    expected = SpatialBroadcastDecoder if decoder == "broadcast" else ConvDecoder
    assert isinstance(agent.world.decoder, expected)
    replay = SequenceReplay(32, 3, seed=0)
    for _ in range(6):
        replay.add(synthetic_episode(rng, 20))
    losses, metrics = [], {}
    for _ in range(40):
        metrics = agent.update(replay.sample(8, 10), replay.sample(8, 10))
        losses.append(metrics["model_loss"])
    # −log N(x|x̂,1) ≥ ½ log 2π per pixel: compare what is above that floor (squared error + KL)
    floor = 0.5 * LOG_2PI * 32 * 32 * 3
    first, last = np.mean(losses[:5]) - floor, np.mean(losses[-5:]) - floor
    assert last < 0.5 * first
    assert all(np.isfinite(v) for v in metrics.values())
    assert agent.updates == 40


def test_bf16_and_channels_last_paths_run() -> None:
    rng = np.random.default_rng(0)
    replay = SequenceReplay(32, 3)
    replay.add(synthetic_episode(rng, 10))
    agent = VMAILAgent(tiny_cfg(precision="bf16", channels_last="true"), A)
    metrics = agent.update(replay.sample(4, 6), replay.sample(4, 6))
    assert all(np.isfinite(v) for v in metrics.values())
    with pytest.raises(ValueError, match="precision"):
        VMAILAgent(tiny_cfg(precision="fp16"), A)


@pytest.mark.parametrize("free_nats, trains_prior", [(None, True), ("3.0", False)])
def test_cpu_preset_trains_the_prior(free_nats: str | None, trains_prior: bool) -> None:
    """The prior (imagination's transition) learns only from the KL term; with the authors' 3
    free nats a small model's KL (< 1 nat on cartpole at 32 px) is clamped and the prior head
    gets exactly zero gradient, so imagined rollouts never match the posteriors D compares."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    overrides = ["env=cartpole_swingup"] + ([f"model.free_nats={free_nats}"] if free_nats else [])
    cfg = vmail_config("vmail_cpu", overrides)
    agent = VMAILAgent(cfg, A)
    replay = SequenceReplay(32, 3, seed=0)
    for _ in range(3):
        replay.add(synthetic_episode(rng, 20))
    metrics = agent.update(replay.sample(4, 16), replay.sample(4, 16))
    assert metrics["kl"] < 3.0
    grad = agent.world.rssm.img_out.weight.grad
    norm = 0.0 if grad is None else float(grad.norm())
    assert (norm > 1e-6) == trains_prior


@pytest.mark.parametrize("preset", ["vmail_cpu", "vmail_cpu48", "vmail_cpu_mid", "vmail_cpu,vmail_cpu64"])
def test_every_cpu_preset_updates_at_its_own_size_and_trains_its_prior(preset: str) -> None:
    """Presets are edited by hand; one that cannot build, or that clamps the KL (no prior
    gradient, see above), should fail here rather than two hours into a run."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = vmail_config(preset, ["train.batch=2", "train.length=8"])
    assert cfg.model.free_nats == 0.0
    with_state = cfg.model.state_scale > 0  # vmail_cpu64's training-only state head
    agent = VMAILAgent(cfg, A, state_dim=2 if with_state else 0)
    assert (agent.world.state_head is not None) == with_state
    replay = SequenceReplay(cfg.image_size, 3, seed=0, with_state=with_state)
    for _ in range(2):
        replay.add(synthetic_episode(rng, 12, size=cfg.image_size))
    if with_state:
        agent.world.state_head.set_normaliser(np.concatenate([e["state"] for e in replay.episodes]))
    metrics = agent.update(replay.sample(2, 8), replay.sample(2, 8))
    assert all(np.isfinite(v) for v in metrics.values())
    assert float(agent.world.rssm.img_out.weight.grad.norm()) > 1e-6


@pytest.mark.parametrize("std", ["0", "-0.1"])
def test_a_non_positive_image_std_is_refused(std: str) -> None:
    with pytest.raises(ValueError, match=r"model\.image_std must be > 0"):
        VMAILAgent(tiny_cfg(**{"model.image_std": std}), A)


def test_an_unknown_decoder_is_refused_when_the_agent_is_built() -> None:
    with pytest.raises(ValueError, match=r"model\.decoder must be one of \('conv', 'broadcast'\)"):
        VMAILAgent(tiny_cfg(**{"model.decoder": "deconv"}), A)
