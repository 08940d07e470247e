"""The V-MAIL objectives as plain functions (eq. 7 ELBO, eq. 6 discriminator, eq. 8 returns).

Kept free of modules and optimisers so each term can be tested against a closed form.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(
    mean_q: torch.Tensor, std_q: torch.Tensor, mean_p: torch.Tensor, std_p: torch.Tensor
) -> torch.Tensor:
    """KL(N(mean_q, std_q²) ‖ N(mean_p, std_p²)) of diagonal Gaussians, summed over the last axis."""
    var_ratio = (std_q / std_p) ** 2
    t = ((mean_q - mean_p) / std_p) ** 2
    return 0.5 * (var_ratio + t - 1 - torch.log(var_ratio)).sum(-1)


def free_nats_kl(kl: torch.Tensor, free_nats: float) -> torch.Tensor:
    """max(mean KL, free_nats): below the threshold the KL term has no gradient (authors' form)."""
    return torch.clamp(kl.mean(), min=free_nats)


def unit_gaussian_log_prob(mean: torch.Tensor, target: torch.Tensor, event_dims: int = 3) -> torch.Tensor:
    """log N(target | mean, 1), summed over the last ``event_dims`` axes (pixels and channels)."""
    return gaussian_log_prob(mean, target, 1.0, event_dims)


def gaussian_log_prob(
    mean: torch.Tensor, target: torch.Tensor, std: float, event_dims: int = 3
) -> torch.Tensor:
    """log N(target | mean, std²) with a fixed std, summed over the last ``event_dims`` axes."""
    lp = -0.5 * ((target - mean) / std) ** 2 - math.log(std) - 0.5 * LOG_2PI
    return lp.sum(dim=tuple(range(-event_dims, 0)))


def elbo_loss(
    recon_mean: torch.Tensor,
    images: torch.Tensor,
    kl: torch.Tensor,
    free_nats: float,
    kl_scale: float,
    image_std: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Negative eq. 7 per (sequence, step): −log U(x|z) + kl_scale·max(KL, free nats).

    U is a Gaussian on pixels in [-0.5, 0.5] with std ``image_std`` (1 in the paper and the
    authors' code, under which a few-pixel object is worth about a nat per frame).
    """
    log_lik = gaussian_log_prob(recon_mean.float(), images, image_std).mean()
    kl_term = free_nats_kl(kl, free_nats)
    loss = kl_scale * kl_term - log_lik
    return loss, {"image_log_lik": log_lik.detach(), "kl": kl.mean().detach()}


def lambda_return(
    reward: torch.Tensor, value: torch.Tensor, bootstrap: torch.Tensor, gamma: float, lam: float
) -> torch.Tensor:
    """R_t = r_t + γ((1−λ) V_{t+1} + λ R_{t+1}), R_K = bootstrap; time is axis 0.

    ``value`` holds V(z_1..z_K) (the value after each reward), ``bootstrap`` = V(z_K) or zeros.
    With λ = 1 this is eq. 8's K-step value expansion Σ γ^τ r_τ + γ^K V(z_K) from every t.
    """
    out = []
    last = bootstrap
    for t in reversed(range(reward.shape[0])):
        nxt = value[t] if t + 1 < reward.shape[0] else bootstrap
        last = reward[t] + gamma * ((1 - lam) * nxt + lam * last)
        out.append(last)
    return torch.stack(out[::-1])


def discriminator_loss(expert_logits: torch.Tensor, policy_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 6 for D: −E_E[log D] − E_π[log(1 − D)], with D = sigmoid(logit)."""
    return F.softplus(-expert_logits).mean() + F.softplus(policy_logits).mean()


def input_gradient_penalty(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """E[(‖∇_x logit(x)‖₂ − 1)²] per sample (the usual WGAN-GP form), with a graph for backprop."""
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def parameter_gradient_penalty(logits: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """(‖∂ mean(logit)/∂θ‖_global − 1)²: the authors' penalty on the gradient w.r.t. D's parameters."""
    grads = torch.autograd.grad(logits.mean(), params, create_graph=True)
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    return (norm - 1) ** 2
