"""Hand-computed checks of A2D's numerical pieces (eqs. 18, 27–29, β schedule, PPO, CG)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Categorical, Independent, Normal

from training.a2d.losses import (
    beta_at,
    gae,
    importance_weight,
    mixture_log_prob,
    mixture_value,
    next_beta,
    ppo_clip_loss,
    projection_kl,
    value_loss,
)
from training.a2d.trpo import conjugate_gradient, trpo_step


def test_importance_weight_hand_case() -> None:
    p_e, p_l = torch.tensor([0.6, 0.1]), torch.tensor([0.2, 0.5])
    w = importance_weight(p_e.log(), p_l.log(), 0.25)
    # w = p_e / (0.25 p_e + 0.75 p_l)
    assert torch.allclose(w, torch.tensor([0.6 / (0.15 + 0.15), 0.1 / (0.025 + 0.375)]), atol=1e-6)
    assert torch.allclose(importance_weight(p_e.log(), p_l.log(), 1.0), torch.ones(2))
    assert torch.allclose(importance_weight(p_e.log(), p_l.log(), 0.0), p_e / p_l)
    assert torch.allclose(mixture_log_prob(p_e.log(), p_l.log(), 0.25).exp(), 0.25 * p_e + 0.75 * p_l)


def test_mixture_value() -> None:
    ve, vl = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0])
    assert torch.allclose(mixture_value(ve, vl, 0.25), torch.tensor([2.5, 5.0]))
    assert mixture_value(ve, None, 0.3) is ve
    assert mixture_value(ve, vl, 0.0) is vl


def test_gae_with_termination_truncation_and_bootstrap() -> None:
    g, lam = 0.9, 0.5
    # One env, 4 steps: terminated at t=1 (no bootstrap), a new episode truncated at t=2
    # (bootstraps from its final-obs value 10), then t=3 is cut by the rollout end (bootstrap 4).
    r = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    v = torch.tensor([[0.5], [1.0], [2.0], [3.0]])
    nv = torch.tensor([[1.0], [99.0], [10.0], [4.0]])
    term = torch.tensor([[False], [True], [False], [False]])
    done = torch.tensor([[False], [True], [True], [False]])
    adv = gae(r, v, nv, term, done, g, lam)
    d3 = 4 + g * 4 - 3
    d2 = 3 + g * 10 - 2
    d1 = 2 - 1.0
    d0 = 1 + g * 1.0 - 0.5
    expected = torch.tensor([[d0 + g * lam * d1], [d1], [d2], [d3]])
    assert torch.allclose(adv, expected, atol=1e-6)


def test_projection_kl_discrete_and_gaussian() -> None:
    pe, pl = torch.tensor([[0.7, 0.3]]), torch.tensor([[0.5, 0.5]])
    kl = projection_kl(Categorical(probs=pe), Categorical(probs=pl))
    assert math.isclose(float(kl), 0.7 * math.log(0.7 / 0.5) + 0.3 * math.log(0.3 / 0.5), rel_tol=1e-5)
    e = Independent(Normal(torch.zeros(1, 2), torch.ones(1, 2)), 1)
    t = Independent(Normal(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 2.0]])), 1)
    # Σ_i log(σ_t/σ_e) + (σ_e² + (μ_e−μ_t)²)/(2σ_t²) − 1/2
    ref = (0 + 1.0 - 0.5) + (math.log(2) + 1 / 8 - 0.5)
    assert math.isclose(float(projection_kl(e, t)), ref, rel_tol=1e-5)


def test_projection_gradient_only_moves_trainee() -> None:
    logits_e = torch.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    logits_l = torch.zeros(1, 3, requires_grad=True)
    loss = projection_kl(Categorical(logits=logits_e.detach()), Categorical(logits=logits_l))
    loss.backward()
    assert logits_e.grad is None
    # d KL(p‖q)/d logits_q = q − p
    p = torch.softmax(logits_e.detach(), -1)
    assert torch.allclose(logits_l.grad, torch.full((1, 3), 1 / 3) - p, atol=1e-6)


def test_beta_schedule() -> None:
    assert next_beta(1.0, 0.8) == pytest.approx(0.8)
    assert next_beta(0.0011, 0.8) == 0.0  # 0.00088 < 1e-3 -> 0
    assert beta_at(0, 1.0, 0.8) == 1.0
    assert beta_at(3, 1.0, 0.8) == pytest.approx(0.512)
    n_zero = next(n for n in range(100) if beta_at(n, 1.0, 0.8) == 0.0)
    assert n_zero == 31  # 0.8^31 = 9.9e-4 < 1e-3 (reference: β = 0 from its iteration 32)
    assert beta_at(5, 1.0, 0.0) == 0.0


def test_ppo_clip_loss_hand_case() -> None:
    logp_old = torch.zeros(3)
    logp_new = torch.log(torch.tensor([1.5, 0.5, 1.1]))
    adv = torch.tensor([1.0, -1.0, 2.0])
    # ratios 1.5 (clip 1.2), 0.5 (clip 0.8), 1.1: min(r A, clip(r) A) = 1.2, -0.8, 2.2
    loss = ppo_clip_loss(logp_new, logp_old, adv, 0.2)
    assert float(loss) == pytest.approx(-(1.2 - 0.8 + 2.2) / 3, rel=1e-5)
    w = torch.tensor([2.0, 1.0, 0.5])
    loss_w = ppo_clip_loss(logp_new, logp_old, adv, 0.2, w)
    assert float(loss_w) == pytest.approx(-(2.4 - 0.8 + 1.1) / 3, rel=1e-5)


def test_value_loss_clipped_takes_max_of_squares() -> None:
    pred, target, old = torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([1.0])
    assert float(value_loss(pred, target)) == pytest.approx(2.0)
    # clipped prediction 1.2 -> max(4, 1.44) = 4
    assert float(value_loss(pred, target, old, 0.2)) == pytest.approx(2.0)


def test_conjugate_gradient_solves_spd_system() -> None:
    torch.manual_seed(0)
    m = torch.randn(6, 6, dtype=torch.float64)
    A = m @ m.T + 6 * torch.eye(6, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    x = conjugate_gradient(lambda v: A @ v, b, iters=20)
    assert torch.allclose(A @ x, b, atol=1e-8)


def test_trpo_step_improves_within_kl() -> None:
    torch.manual_seed(0)
    logits = torch.zeros(4, 3, requires_grad=True)
    actions = torch.tensor([0, 1, 2, 0])
    adv = torch.tensor([1.0, -1.0, -1.0, 1.0])
    old = Categorical(logits=logits.detach().clone())
    logp_old = old.log_prob(actions)

    def surrogate() -> torch.Tensor:
        return (torch.exp(Categorical(logits=logits).log_prob(actions) - logp_old) * adv).mean()

    def kl() -> torch.Tensor:
        return torch.distributions.kl_divergence(old, Categorical(logits=logits)).mean()

    st = trpo_step([logits], surrogate, kl, kl, max_kl=0.01)
    assert st["accepted"] == 1.0
    assert 0 < st["kl"] <= 0.01 + 1e-6
    assert float(surrogate().detach()) > 0.0  # the old surrogate is mean(adv) = 0
    assert torch.softmax(logits, -1)[0, 0] > 1 / 3
