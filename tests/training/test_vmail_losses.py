"""V-MAIL objective terms against closed forms and hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from training.vmail.discriminator import Discriminator
from training.vmail.losses import (
    LOG_2PI,
    discriminator_loss,
    elbo_loss,
    free_nats_kl,
    gaussian_kl,
    gaussian_log_prob,
    lambda_return,
    parameter_gradient_penalty,
    unit_gaussian_log_prob,
)


def test_gaussian_kl_known_values() -> None:
    # KL(N(1,1) || N(0,1)) = 1/2 ; KL(N(0,4) || N(0,1)) = (4 - 1 - ln 4)/2 ; summed over dims
    mean_q, std_q = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 2.0])
    mean_p, std_p = torch.zeros(2), torch.ones(2)
    expected = 0.5 + 0.5 * (4 - 1 - math.log(4))
    assert gaussian_kl(mean_q, std_q, mean_p, std_p).item() == pytest.approx(expected, rel=1e-6)
    assert gaussian_kl(mean_p, std_p, mean_p, std_p).item() == pytest.approx(0.0, abs=1e-7)


def test_gaussian_kl_matches_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mq, mp = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    sq, sp = torch.rand(5, 7, generator=g) + 0.1, torch.rand(5, 7, generator=g) + 0.1
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mq, sq), torch.distributions.Normal(mp, sp)
    )
    torch.testing.assert_close(gaussian_kl(mq, sq, mp, sp), ref.sum(-1))


def test_free_nats_clamp_blocks_gradient_below_threshold() -> None:
    kl = torch.tensor([1.0, 2.0], requires_grad=True)  # mean 1.5 < 3
    loss = free_nats_kl(kl, 3.0)
    loss.backward()
    assert loss.item() == 3.0
    assert torch.all(kl.grad == 0)
    kl2 = torch.tensor([4.0, 6.0], requires_grad=True)  # mean 5 > 3
    loss2 = free_nats_kl(kl2, 3.0)
    loss2.backward()
    assert loss2.item() == 5.0
    torch.testing.assert_close(kl2.grad, torch.tensor([0.5, 0.5]))


def test_unit_gaussian_image_log_prob_and_elbo() -> None:
    target = torch.zeros(2, 3, 4, 4)
    # perfect reconstruction: -0.5 log 2π per pixel and channel, 48 of them per image
    lp = unit_gaussian_log_prob(target.clone(), target)
    torch.testing.assert_close(lp, torch.full((2,), -0.5 * LOG_2PI * 48))
    # off by 1 everywhere adds -0.5 per element
    lp1 = unit_gaussian_log_prob(target + 1, target)
    torch.testing.assert_close(lp1 - lp, torch.full((2,), -24.0))
    loss, m = elbo_loss(target + 1, target, torch.tensor([0.5, 0.5]), free_nats=3.0, kl_scale=1.0)
    assert loss.item() == pytest.approx(3.0 + 24.0 + 0.5 * LOG_2PI * 48, rel=1e-6)
    assert m["kl"].item() == pytest.approx(0.5)


@pytest.mark.parametrize("std", [1.0, 0.3, 0.1])
def test_image_likelihood_with_a_smaller_std_matches_the_normal_density(std: float) -> None:
    """DEV model.image_std: a pixel error costs 1/std² as much as under the paper's unit std."""
    torch.manual_seed(0)
    mean, target = torch.rand(2, 3, 4, 4) - 0.5, torch.rand(2, 3, 4, 4) - 0.5
    expected = torch.distributions.Normal(mean, std).log_prob(target).sum((-3, -2, -1))
    torch.testing.assert_close(gaussian_log_prob(mean, target, std), expected)
    loss, _ = elbo_loss(mean, target, torch.tensor([0.0]), 0.0, 1.0, image_std=std)
    torch.testing.assert_close(loss, -expected.mean())


def test_lambda_return_is_k_step_expansion_at_lambda_one() -> None:
    r = torch.tensor([[1.0], [2.0], [3.0]])
    v = torch.tensor([[10.0], [20.0], [30.0]])  # V(z_1), V(z_2), V(z_3)
    g = 0.9
    ret = lambda_return(r, v, v[-1], g, 1.0)
    # R_0 = 1 + .9*2 + .81*3 + .729*30 ; R_2 = 3 + .9*30
    assert ret[0].item() == pytest.approx(1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 30)
    assert ret[2].item() == pytest.approx(3 + 0.9 * 30)
    # zero bootstrap (authors' DMC): plain discounted sum
    assert lambda_return(r, v, torch.zeros(1), g, 1.0)[0].item() == pytest.approx(1 + 1.8 + 2.43)
    # λ = 0: one-step TD targets r_t + γ V(z_{t+1})
    torch.testing.assert_close(lambda_return(r, v, v[-1], g, 0.0), r + g * v)


def test_discriminator_loss_at_chance() -> None:
    zero = torch.zeros(10)
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    # a confident, correct D has a small loss; a confident, wrong one a large loss
    assert discriminator_loss(torch.full((4,), 10.0), torch.full((4,), -10.0)).item() < 1e-3
    assert discriminator_loss(torch.full((4,), -10.0), torch.full((4,), 10.0)).item() > 19


def _linear_disc(w: list[float], b: float) -> Discriminator:
    d = Discriminator(len(w), layers=0, units=1)
    lin = d.net.net[0]
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w]))
        lin.bias.fill_(b)
    return d


def test_input_gradient_penalty_by_hand() -> None:
    # logit = 3 x1 + 4 x2: ∇_x logit = (3, 4) at every interpolate, so GP = (5 - 1)² = 16
    d = _linear_disc([3.0, 4.0], 0.5)
    expert, policy = torch.randn(6, 2), torch.randn(2, 5, 2)
    loss, m = d.loss(expert, policy, "input", gp_weight=2.0)
    assert m["disc_gp"].item() == pytest.approx(16.0, rel=1e-6)
    base = discriminator_loss(d(expert), d(policy.reshape(-1, 2)))
    assert loss.item() == pytest.approx(base.item() + 32.0, rel=1e-5)
    # double backprop: the penalty adds d/dw (‖w‖-1)² = 2(‖w‖-1) w/‖w‖ = (4.8, 6.4) to D's gradient
    lin = d.net.net[0]
    d.zero_grad()
    loss, _ = d.loss(expert, policy, "input", gp_weight=1.0)
    loss.backward()
    (g_base,) = torch.autograd.grad(discriminator_loss(d(expert), d(policy.reshape(-1, 2))), lin.weight)
    torch.testing.assert_close(lin.weight.grad - g_base, torch.tensor([[4.8, 6.4]]))


def test_parameter_gradient_penalty_by_hand() -> None:
    # logit = w·x + b: ∂ mean(logit)/∂w = mean(x), ∂/∂b = 1 -> norm² = |mean x|² + 1
    d = _linear_disc([1.0, -2.0], 0.0)
    x = torch.tensor([[1.0, 2.0], [3.0, 2.0]])  # mean (2, 2): norm = sqrt(8 + 1) = 3
    gp = parameter_gradient_penalty(d(x), list(d.parameters()))
    assert gp.item() == pytest.approx((3.0 - 1.0) ** 2, rel=1e-6)


def test_rewards_log_d_and_d() -> None:
    d = _linear_disc([0.0, 0.0], 0.0)  # D = 1/2 everywhere
    pairs = torch.zeros(3, 2)
    torch.testing.assert_close(d.reward(pairs, "log_d"), torch.full((3,), math.log(0.5)))
    torch.testing.assert_close(d.reward(pairs, "d"), torch.full((3,), 0.5))
    with pytest.raises(ValueError, match="unknown reward"):
        d.reward(pairs, "logd")
    with pytest.raises(ValueError, match="unknown gradient penalty"):
        d.loss(pairs, pairs[None], "wgan", 1.0)
