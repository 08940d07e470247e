"""DrQ-style SAC on image stacks: the off-policy learner shared by SQIL and DAC.

Following DrQ (Kostrikov et al. 2020): one conv encoder trained only through the critic loss
(the actor reads detached features), every observation randomly shifted before encoding,
clipped double-Q with a Polyak-averaged target critic and target encoder, a tanh-squashed
Gaussian actor and an automatically tuned entropy temperature (target entropy -|A|). The
encoder is the project's ``ImageEncoder`` (LayerNorm + tanh features), so the trained actor
becomes an ordinary ``PolicyNet`` (``SACImagePolicy``) that the evaluation, ONNX export and
ROS nodes already handle. The reward is an argument of ``update``: SQIL and DAC differ only in
how they compute it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from policies.networks import ImageEncoder, PolicyNet
from training.baselines_visual.augment import random_shift

LOG_STD_MIN, LOG_STD_MAX = -10.0, 2.0


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim)
    )


class SquashedGaussianActor(nn.Module):
    """features -> tanh(Normal(mean, std)) actions in [-1, 1]."""

    def __init__(self, features: int, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = _mlp(features, hidden, 2 * action_dim)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.net(feats).chunk(2, -1)
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(log_std) + 1.0)
        return mean, log_std

    def sample(
        self, feats: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action and its log-probability (with the tanh correction)."""
        mean, log_std = self(feats)
        std = log_std.exp()
        noise = torch.randn(mean.shape, generator=generator)
        u = mean + std * noise
        a = torch.tanh(u)
        logp = (-0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
        return a, logp


class DoubleQ(nn.Module):
    def __init__(self, features: int, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.q1 = _mlp(features + action_dim, hidden, 1)
        self.q2 = _mlp(features + action_dim, hidden, 1)

    def forward(self, feats: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([feats, action], -1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)


class SACImagePolicy(PolicyNet):
    """Encoder + actor as a deployable policy: uint8 (N, K, H, W, C) -> the deterministic action."""

    def __init__(self, encoder: ImageEncoder, actor: SquashedGaussianActor, action_dim: int) -> None:
        super().__init__()
        self.encoder, self.actor = encoder, actor
        self.frame_window = encoder.frame_window
        self._init_head(False, action_dim, 0.0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        mean, _ = self.actor(self.encoder(images))
        return torch.tanh(mean)


@dataclass(frozen=True)
class SACConfig:
    frame_stack: int = 3
    features: int = 50
    hidden: int = 256
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.01
    init_temperature: float = 0.1
    shift_pad: int = 4


class DrQSAC:
    """Networks, optimisers and one gradient step of DrQ-SAC."""

    def __init__(
        self, image_shape: Sequence[int], action_dim: int, cfg: SACConfig, generator: torch.Generator
    ) -> None:
        self.cfg = cfg
        self.gen = generator
        self.encoder = ImageEncoder(image_shape, cfg.frame_stack, cfg.features)
        self.critic = DoubleQ(cfg.features, action_dim, cfg.hidden)
        self.actor = SquashedGaussianActor(cfg.features, action_dim, cfg.hidden)
        self.encoder_target = copy.deepcopy(self.encoder).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = torch.tensor(math.log(cfg.init_temperature), requires_grad=True)
        self.target_entropy = -float(action_dim)
        self.critic_opt = torch.optim.Adam([*self.encoder.parameters(), *self.critic.parameters()], lr=cfg.lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.lr)
        self.policy = SACImagePolicy(self.encoder, self.actor, action_dim)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp()

    @torch.no_grad()
    def act(self, frames: torch.Tensor, explore: bool) -> torch.Tensor:
        """(N, K, H, W, C) frames -> (N, A) actions: sampled when exploring, else the tanh mean."""
        feats = self.encoder(frames)
        if explore:
            return self.actor.sample(feats, self.gen)[0]
        return torch.tanh(self.actor(feats)[0])

    def update(
        self,
        obs: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        next_obs: torch.Tensor,
        discount: torch.Tensor,
    ) -> dict[str, float]:
        """One critic, actor and temperature step on a batch (obs uint8 stacks, discount 0 at terminals)."""
        cfg = self.cfg
        obs_aug = random_shift(obs, cfg.shift_pad, self.gen)
        next_aug = random_shift(next_obs, cfg.shift_pad, self.gen)
        with torch.no_grad():
            next_action, next_logp = self.actor.sample(self.encoder(next_aug), self.gen)
            tq1, tq2 = self.critic_target(self.encoder_target(next_aug), next_action)
            soft_v = torch.min(tq1, tq2) - self.alpha * next_logp
            target = reward + cfg.gamma * discount * soft_v
        feats = self.encoder(obs_aug)
        q1, q2 = self.critic(feats, action)
        critic_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()

        new_action, logp = self.actor.sample(feats.detach(), self.gen)
        pq1, pq2 = self.critic(feats.detach(), new_action)
        actor_loss = (self.alpha.detach() * logp - torch.min(pq1, pq2)).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()

        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_opt.step()

        with torch.no_grad():
            for net, tgt in ((self.encoder, self.encoder_target), (self.critic, self.critic_target)):
                for p, tp in zip(net.parameters(), tgt.parameters(), strict=True):
                    tp.lerp_(p, cfg.tau)
        return {
            "critic_loss": float(critic_loss.detach()),
            "actor_loss": float(actor_loss.detach()),
            "alpha": float(self.alpha.detach()),
            "q_mean": float(q1.detach().mean()),
        }

    def state_dict(self) -> dict[str, object]:
        return {
            "encoder": self.encoder.state_dict(),
            "critic": self.critic.state_dict(),
            "actor": self.actor.state_dict(),
            "encoder_target": self.encoder_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        for name in ("encoder", "critic", "actor", "encoder_target", "critic_target"):
            getattr(self, name).load_state_dict(state[name])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])  # type: ignore[arg-type]

    def optimizer_state_dict(self) -> dict[str, object]:
        return {
            "critic": self.critic_opt.state_dict(),
            "actor": self.actor_opt.state_dict(),
            "alpha": self.alpha_opt.state_dict(),
        }

    def load_optimizer_state_dict(self, state: dict[str, object]) -> None:
        self.critic_opt.load_state_dict(state["critic"])  # type: ignore[arg-type]
        self.actor_opt.load_state_dict(state["actor"])  # type: ignore[arg-type]
        self.alpha_opt.load_state_dict(state["alpha"])  # type: ignore[arg-type]
