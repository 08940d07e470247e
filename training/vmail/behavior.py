"""Actor and value trained by K-step value expansion through the learned model (eq. 8)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from training.vmail.losses import lambda_return
from training.vmail.networks import DenseHead


class Actor(nn.Module):
    """Tanh-squashed Gaussian policy π(a | z) (the authors' ActionDecoder, 'tanh_normal')."""

    def __init__(
        self,
        feat_dim: int,
        action_dim: int,
        layers: int,
        units: int,
        init_std: float = 5.0,
        mean_scale: float = 5.0,
        min_std: float = 1e-4,
    ) -> None:
        super().__init__()
        self.net = DenseHead(feat_dim, 2 * action_dim, layers, units)
        self.mean_scale, self.min_std = mean_scale, min_std
        self.raw_init_std = math.log(math.expm1(init_std))

    def dist_params(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m, s = self.net(feat).float().chunk(2, -1)
        mean = self.mean_scale * torch.tanh(m / self.mean_scale)
        std = F.softplus(s + self.raw_init_std) + self.min_std
        return mean, std

    def sample(self, feat: torch.Tensor) -> torch.Tensor:
        """Reparameterised sample tanh(μ + σε) in (−1, 1)."""
        mean, std = self.dist_params(feat)
        return torch.tanh(mean + std * torch.randn_like(std))

    def mode(self, feat: torch.Tensor) -> torch.Tensor:
        """Deterministic action tanh(μ) (the authors pick the best of 100 samples instead)."""
        return torch.tanh(self.dist_params(feat)[0])


class Value(nn.Module):
    def __init__(self, feat_dim: int, layers: int, units: int) -> None:
        super().__init__()
        self.net = DenseHead(feat_dim, 1, layers, units)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat).squeeze(-1).float()


def discount_weights(horizon: int, gamma: float, like: torch.Tensor) -> torch.Tensor:
    """(H, 1) weights γ^t that down-weight late imagined steps, as in the authors' code."""
    return (gamma ** torch.arange(horizon, dtype=torch.float32, device=like.device)).unsqueeze(-1)


def behavior_losses(
    reward: torch.Tensor, feats: torch.Tensor, value: Value, gamma: float, lam: float, bootstrap: bool
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Actor loss −E[γ^t R_t] and value loss E[γ^t (V(z_t) − sg(R_t))²/2].

    ``reward`` (H, N) is r_t for the pair (z_t, a_t); ``feats`` (H+1, N, F) holds z_0..z_H.
    R_t is the λ-return over the rest of the horizon bootstrapped with V(z_H) (paper) or zero
    (``bootstrap=False``, the authors' DMC/D'Claw setting).
    """
    H = reward.shape[0]
    v_next = value(feats[1:])  # V(z_1..z_H); gradients reach the actor through the features
    boot = v_next[-1] if bootstrap else torch.zeros_like(v_next[-1])
    returns = lambda_return(reward, v_next, boot, gamma, lam)
    w = discount_weights(H, gamma, reward)
    actor_loss = -(w * returns).mean()
    v_pred = value(feats[:-1].detach())
    value_loss = (w * 0.5 * (v_pred - returns.detach()) ** 2).mean()
    metrics = {
        "reward_mean": reward.mean().detach(),
        "return_mean": returns.mean().detach(),
        "value_mean": v_pred.mean().detach(),
    }
    return actor_loss, value_loss, metrics
