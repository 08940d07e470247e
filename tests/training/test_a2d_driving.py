"""Continuous-action A2D/AIL on the occluded-pedestrian scenario, and the driving evaluation metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from benchmarks.driving_baselines import summarize_episodes
from policies.networks import StatePolicy
from policies.scripted import ScriptedPolicy
from sim_bridges.driving.expert import expert_action
from sim_bridges.registry import make_batched
from training.a2d.algorithm import A2DTrainer
from training.a2d.losses import importance_weight
from training.a2d.rollout import IMAGE, STATE, Actor, sample_actions
from training.config import make_config
from training.evaluate import run_episodes

# Tiny budgets: two copies, short rollouts, one epoch of everything, no evaluation.
TINY = [
    "log.progress=false",
    "log.tensorboard=false",
    "threads=1",
    "num_envs=2",
    "rollout_steps=24",
    "eval.every=0",
    "projection.buffer_size=128",
    "projection.epochs=1",
    "value.epochs=1",
    "rl.ppo.epochs=1",
]
EXPERT = "sim_bridges.driving.expert:expert_action"


def _finite(stats: dict[str, float], keys: tuple[str, ...]) -> None:
    for k in keys:
        assert k in stats, (k, sorted(stats))
        assert math.isfinite(stats[k]), (k, stats[k])


def test_gaussian_importance_weight_and_projection_kl_match_closed_forms() -> None:
    mu_e, mu_t, sd_e, sd_t = torch.tensor([[0.2, -0.4]]), torch.tensor([[0.5, 0.1]]), 0.3, 0.5
    e = Independent(Normal(mu_e, torch.full_like(mu_e, sd_e)), 1)
    t = Independent(Normal(mu_t, torch.full_like(mu_t, sd_t)), 1)
    a = torch.tensor([[0.3, -0.1]])
    pdf = lambda x, m, s: np.prod(np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)))
    pe, pt = pdf(a.numpy(), mu_e.numpy(), sd_e), pdf(a.numpy(), mu_t.numpy(), sd_t)
    w = importance_weight(e.log_prob(a), t.log_prob(a), 0.25)
    assert float(w) == pytest.approx(pe / (0.25 * pe + 0.75 * pt), rel=1e-5)
    # KL(N(μe, σe²) ‖ N(μt, σt²)) summed over the two independent action dimensions.
    kl = sum(
        math.log(sd_t / sd_e) + (sd_e**2 + (float(mu_e[0, i]) - float(mu_t[0, i])) ** 2) / (2 * sd_t**2) - 0.5
        for i in range(2)
    )
    assert float(kl_divergence(e, t)) == pytest.approx(kl, rel=1e-5)


def test_continuous_a2d_on_driving_env_runs_and_losses_are_finite() -> None:
    torch.manual_seed(0)
    cfg = make_config("a2d_image_driving", TINY)
    env = make_batched(cfg.env, int(cfg.num_envs))
    try:
        tr = A2DTrainer(cfg, env, env.info)
        assert not tr.nets["actor"].discrete and not tr.nets["trainee"].discrete
        assert tr.expert.key == STATE and tr.trainee.key == IMAGE
        before = [p.detach().clone() for p in tr.nets["trainee"].parameters()]
        first = tr.train_iteration()  # β = 1: the expert drives
        second = tr.train_iteration()  # β = 0.8: mixture data, importance weights
    finally:
        env.close()
    assert first["beta"] == 1.0 and second["beta"] == pytest.approx(0.8)
    keys = ("value_loss", "trainee_value_loss", "rl_policy_loss", "rl_approx_kl", "projection_loss")
    _finite(first, keys)
    _finite(second, (*keys, "iw_mean", "iw_max"))
    assert second["iw_mean"] > 0.0
    assert tr.env_steps == 2 * 2 * 24
    moved = sum(
        float((p - b).abs().sum()) for p, b in zip(tr.nets["trainee"].parameters(), before, strict=True)
    )
    assert moved > 0.0  # the projection step trained the camera trainee


def test_deterministic_evaluation_uses_the_gaussian_mean() -> None:
    pol = StatePolicy(3, 2, discrete=False, init_log_std=0.0)
    x = {STATE: torch.randn(5, 3)}
    gen = torch.Generator().manual_seed(0)
    det = sample_actions(Actor(pol, STATE), x, gen, deterministic=True)
    assert torch.equal(det, pol(x[STATE]))
    assert not torch.allclose(sample_actions(Actor(pol, STATE), x, gen), det)


def test_state_input_normalisation() -> None:
    torch.manual_seed(1)
    off, scale = [1.0, -2.0, 0.0], [2.0, 4.0, 0.5]
    normed = StatePolicy(3, 2, False, input_offset=off, input_scale=scale)
    plain = StatePolicy(3, 2, False)
    plain.load_state_dict({k: v for k, v in normed.state_dict().items() if not k.startswith("norm.")})
    x = torch.randn(4, 3) * 10
    expected = plain((x - torch.tensor(off)) / torch.tensor(scale))
    assert torch.allclose(normed(x), expected)
    assert "norm.offset" in normed.state_dict() and "norm.offset" not in plain.state_dict()
    with pytest.raises(ValueError, match="3 offsets and scales"):
        StatePolicy(3, 2, False, input_offset=[0.0, 0.0], input_scale=scale)
    with pytest.raises(ValueError, match="positive"):
        StatePolicy(3, 2, False, input_scale=[1.0, 0.0, 1.0])


def test_scripted_expert_policy_is_the_controller_with_fixed_std() -> None:
    env = make_batched("occluded_pedestrian", 3, render_images=False)
    try:
        obs, _ = env.reset(seed=4)
    finally:
        env.close()
    pol = ScriptedPolicy(EXPERT, 14, 2)
    out = pol(torch.from_numpy(obs[STATE]))
    assert np.allclose(out.numpy(), np.stack([expert_action(s) for s in obs[STATE]]), atol=1e-6)
    assert float(pol.log_std.exp()[0]) == pytest.approx(0.005)
    assert not pol.log_std.requires_grad
    with pytest.raises(ValueError, match="module:function"):
        ScriptedPolicy("expert_action", 14, 2)
    with pytest.raises(ValueError, match="cannot be imported"):
        ScriptedPolicy("sim_bridges.driving.expert:no_such_driver", 14, 2)
    with pytest.raises(ValueError, match=r"\(N, 14\)"):
        pol(torch.zeros(2, 5))


def test_ail_from_the_scripted_expert_trains_the_camera_trainee() -> None:
    torch.manual_seed(0)
    cfg = make_config("ail_driving", [*TINY, "projection.lr=0.01"])  # visible progress in a few steps
    env = make_batched(cfg.env, int(cfg.num_envs))
    try:
        tr = A2DTrainer(cfg, env, env.info)
        assert isinstance(tr.nets["expert"], ScriptedPolicy)
        first = tr.train_iteration()  # β = 1: the scripted expert drives
        second = tr.train_iteration()  # then the trainee drives
    finally:
        env.close()
    assert first["expert_action_frac"] == 1.0 and second["expert_action_frac"] == 0.0
    _finite(first, ("projection_loss",))
    _finite(second, ("projection_loss",))
    idx = torch.arange(tr.buffer.size)
    states, images = tr.buffer.get(STATE, idx), tr.buffer.get(IMAGE, idx)

    def kl() -> float:
        with torch.no_grad():
            e, t = tr.nets["expert"], tr.nets["trainee"]
            return float(kl_divergence(e.dist(states), t.dist(images)).mean())

    before = kl()
    for _ in range(10):  # 20 Adam steps of lr 0.01
        tr.projection_step(torch.Generator().manual_seed(1))
    # The KL is dominated by the trainee's wide log-std (σ 0.29 vs the expert's 0.005): each step
    # moves each of the two log-stds by ~lr, so 20 steps take ~0.4 off the KL on the same data.
    assert kl() < before - 0.2, (before, kl())


def test_summarize_episodes_on_a_hand_made_case() -> None:
    info = lambda child, hit, wp, coll, t: {
        "child_present": child,
        "child_collision": hit,
        "waypoint_fraction": wp,
        "success": wp == 1.0 and not coll,
        "collision": coll,
        "lane_invasion": False,
        "t": t,
    }
    infos = [
        info(True, True, 0.6, True, 30),  # hits the child
        info(True, False, 1.0, False, 60),  # stops for it
        info(False, False, 1.0, False, 41),
        info(False, False, 0.5, True, 20),  # hits the truck: a collision, not a child collision
    ]
    m = summarize_episodes([10.0, 60.0, 70.0, 20.0], infos)
    assert m["episodes"] == 4 and m["child_episodes"] == 2
    assert m["mean_return"] == pytest.approx(40.0)
    assert m["median_return"] == pytest.approx(40.0)
    assert m["mean_return_child"] == pytest.approx(35.0)
    assert m["mean_return_no_child"] == pytest.approx(45.0)
    assert m["waypoints_pct"] == pytest.approx(77.5)
    assert m["child_collision_pct"] == pytest.approx(50.0)
    assert m["collision_pct"] == pytest.approx(50.0)
    assert m["success_pct"] == pytest.approx(50.0)
    assert m["mean_steps"] == pytest.approx(37.75) and m["max_steps"] == 60
    with pytest.raises(ValueError, match="one final info per episode"):
        summarize_episodes([1.0], infos)


def test_run_episodes_reports_each_copys_final_info() -> None:
    env = make_batched("occluded_pedestrian", 4, render_images=False)
    finals: list = []
    try:
        r, _ = run_episodes(env, Actor(ScriptedPolicy(EXPERT, 14, 2), STATE), True, 0, final_infos=finals)
    finally:
        env.close()
    assert len(finals) == 4 and all(f is not None for f in finals)
    m = summarize_episodes(list(r), finals)
    # The privileged expert finishes every route without touching anything (driving_baselines: 100% / 0%).
    assert m["waypoints_pct"] == 100.0 and m["collision_pct"] == 0.0 and m["success_pct"] == 100.0
    assert all(f["termination"] == "completed" for f in finals)
