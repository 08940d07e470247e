"""DAC (Kostrikov et al. 2019): an off-policy adversarial imitation reward for SAC.

A discriminator D(o, a) learns to tell demonstrated (image stack, action) pairs from the
agent's (binary cross-entropy on shifted images, plus a gradient penalty on inputs
interpolated between the two batches, which keeps D smooth enough to give a useful reward);
the agent's reward is log D - log(1 - D), i.e. D's logit. DAC's absorbing-state handling is
left out: the DMC tasks here never terminate, only time out. D has its own small encoder, so
the adversary cannot reshape the critic's features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from policies.networks import ImageEncoder
from training.baselines_visual.augment import random_shift


class Discriminator(nn.Module):
    """(N, K, H, W, C) 0-255 frames and (N, A) actions -> (N,) logits of 'demonstrated'."""

    def __init__(
        self, image_shape: Sequence[int], frame_stack: int, action_dim: int, hidden: int = 256
    ) -> None:
        super().__init__()
        self.encoder = ImageEncoder(image_shape, frame_stack, 50)
        self.head = nn.Sequential(nn.Linear(50 + action_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, frames: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.encoder(frames), action], -1)).squeeze(-1)


class DACReward:
    """The discriminator, its optimiser and update, and the reward it gives the agent."""

    def __init__(
        self,
        image_shape: Sequence[int],
        frame_stack: int,
        action_dim: int,
        generator: torch.Generator,
        lr: float = 3e-4,
        gp_weight: float = 10.0,
        shift_pad: int = 4,
    ) -> None:
        self.disc = Discriminator(image_shape, frame_stack, action_dim)
        self.opt = torch.optim.Adam(self.disc.parameters(), lr=lr)
        self.gen = generator
        self.gp_weight = gp_weight
        self.shift_pad = shift_pad

    def update(
        self,
        demo_obs: torch.Tensor,
        demo_action: torch.Tensor,
        agent_obs: torch.Tensor,
        agent_action: torch.Tensor,
    ) -> dict[str, float]:
        """One step: BCE (demo = 1, agent = 0) + gradient penalty; equal batch sizes expected."""
        d_obs = random_shift(demo_obs, self.shift_pad, self.gen)
        a_obs = random_shift(agent_obs, self.shift_pad, self.gen)
        d_logit = self.disc(d_obs, demo_action)
        a_logit = self.disc(a_obs, agent_action)
        bce = F.binary_cross_entropy_with_logits(
            d_logit, torch.ones_like(d_logit)
        ) + F.binary_cross_entropy_with_logits(a_logit, torch.zeros_like(a_logit))
        u = torch.rand(d_obs.shape[0], generator=self.gen)
        mix_obs = (u.view(-1, 1, 1, 1, 1) * d_obs + (1 - u.view(-1, 1, 1, 1, 1)) * a_obs).requires_grad_(True)
        mix_act = (u[:, None] * demo_action + (1 - u[:, None]) * agent_action).requires_grad_(True)
        grads = torch.autograd.grad(self.disc(mix_obs, mix_act).sum(), [mix_obs, mix_act], create_graph=True)
        # Pixel gradients in [0, 1] units (the encoder divides by 255), so both inputs count alike.
        img_grad, act_grad = grads[0] * 255.0, grads[1]
        norm = torch.sqrt(img_grad.flatten(1).pow(2).sum(1) + act_grad.pow(2).sum(1) + 1e-12)
        gp = (norm - 1.0).pow(2).mean()
        loss = bce + self.gp_weight * gp
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        accuracy = 0.5 * (float((d_logit > 0).float().mean()) + float((a_logit < 0).float().mean()))
        return {"disc_loss": float(bce.detach()), "disc_gp": float(gp.detach()), "disc_accuracy": accuracy}

    @torch.no_grad()
    def reward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """log D - log(1 - D) = the logit, on unshifted frames."""
        return self.disc(obs.to(torch.float32), action)
