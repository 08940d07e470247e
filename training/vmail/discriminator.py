"""Discriminator on latent state–action pairs: expert posteriors vs imagined on-policy rollouts (eq. 6)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.vmail.losses import discriminator_loss, input_gradient_penalty, parameter_gradient_penalty
from training.vmail.networks import DenseHead

GP_KINDS = ("input", "params", "none")
REWARDS = ("log_d", "d")


class Discriminator(nn.Module):
    def __init__(self, in_dim: int, layers: int, units: int) -> None:
        super().__init__()
        self.net = DenseHead(in_dim, 1, layers, units)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        """Logits of D(z, a) = sigmoid(logit), shape pairs.shape[:-1]."""
        return self.net(pairs).squeeze(-1)

    def reward(self, pairs: torch.Tensor, kind: str) -> torch.Tensor:
        """The actor's reward: log D (paper, eq. 8) or D (authors' code); differentiable."""
        logits = self(pairs).float()
        if kind == "log_d":
            return -F.softplus(-logits)  # log sigmoid, stable
        if kind == "d":
            return torch.sigmoid(logits)
        raise ValueError(f"unknown reward kind {kind!r}; use one of {REWARDS}")

    def loss(
        self, expert: torch.Tensor, policy: torch.Tensor, gp_kind: str, gp_weight: float
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Eq. 6 (minimised over D) plus a gradient penalty on expert/policy interpolates.

        ``expert`` (M, P) and ``policy`` (H, N, P) pairs must be detached from the model and
        actor. Interpolates pair each policy sample with an expert sample drawn uniformly.
        """
        if gp_kind not in GP_KINDS:
            raise ValueError(f"unknown gradient penalty {gp_kind!r}; use one of {GP_KINDS}")
        policy = policy.reshape(-1, policy.shape[-1])
        e_logits, p_logits = self(expert).float(), self(policy).float()
        loss = discriminator_loss(e_logits, p_logits)
        metrics = {
            "disc_loss": loss.detach(),
            "disc_expert_acc": (e_logits > 0).float().mean(),
            "disc_policy_acc": (p_logits < 0).float().mean(),
        }
        if gp_kind != "none" and gp_weight > 0:
            idx = torch.randint(0, expert.shape[0], (policy.shape[0],), device=expert.device)
            u = torch.rand(policy.shape[0], 1, device=policy.device)
            mixed = (u * policy + (1 - u) * expert[idx]).requires_grad_(gp_kind == "input")
            m_logits = self(mixed).float()
            if gp_kind == "input":
                gp = input_gradient_penalty(m_logits, mixed)
            else:
                gp = parameter_gradient_penalty(m_logits, [p for p in self.parameters() if p.requires_grad])
            loss = loss + gp_weight * gp
            metrics["disc_gp"] = gp.detach()
        return loss, metrics
