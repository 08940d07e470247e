"""Recurrent state-space model (RSSM): belief q(z_t | x_t, z_{t-1}, a_{t-1}), prior T(z_t | z_{t-1}, a_{t-1}).

Latent z_t = (stoch_t, deter_t); the features used by every head are concat(stoch, deter).
Prior and posterior are reparameterised diagonal Gaussians with std = softplus(.) + min_std,
as in the authors' code. Speed: the first layers of the prior and posterior nets take a
concatenation [stoch, action] / [deter, embed]; they are split into one linear map per part so
that the action and embedding parts are computed for the whole sequence in one matrix
product before the time loop (mathematically the same layer, fewer small ops per step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


class State(NamedTuple):
    """One RSSM state; every field has the same leading (batch) shape."""

    mean: torch.Tensor
    std: torch.Tensor
    stoch: torch.Tensor
    deter: torch.Tensor

    def feat(self) -> torch.Tensor:
        return torch.cat([self.stoch, self.deter], -1)

    def detach(self) -> State:
        return State(*(t.detach() for t in self))

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> State:
        return State(*(fn(t) for t in self))


def stack_states(states: list[State], dim: int) -> State:
    return State(*(torch.stack([getattr(s, f) for s in states], dim) for f in State._fields))


class GRUCell(nn.Module):
    """GRU with the reset gate applied after the hidden matmul (Keras reset_after, torch GRUCell).

    Written out (instead of nn.GRUCell) so bf16 autocast covers its matrix products and the ONNX
    graph is plain MatMul/Sigmoid/Tanh.
    """

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.x2h = nn.Linear(in_dim, 3 * hidden)
        self.h2h = nn.Linear(hidden, 3 * hidden)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        xr, xz, xn = self.x2h(x).chunk(3, -1)
        hr, hz, hn = self.h2h(h).chunk(3, -1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h.to(n.dtype)


class RSSM(nn.Module):
    def __init__(
        self,
        embed_dim: int,
        action_dim: int,
        stoch: int = 30,
        deter: int = 200,
        hidden: int = 200,
        min_std: float = 0.1,
    ) -> None:
        super().__init__()
        self.stoch_dim, self.deter_dim, self.action_dim, self.min_std = stoch, deter, action_dim, min_std
        self.img_in_stoch = nn.Linear(stoch, hidden)
        self.img_in_action = nn.Linear(action_dim, hidden, bias=False)
        self.gru = GRUCell(hidden, deter)
        self.img_hidden = nn.Linear(deter, hidden)
        self.img_out = nn.Linear(hidden, 2 * stoch)
        self.obs_in_deter = nn.Linear(deter, hidden)
        self.obs_in_embed = nn.Linear(embed_dim, hidden, bias=False)
        self.obs_out = nn.Linear(hidden, 2 * stoch)

    @property
    def feat_dim(self) -> int:
        return self.stoch_dim + self.deter_dim

    def initial(self, batch: int, device: torch.device | None = None) -> State:
        z = torch.zeros(batch, self.stoch_dim, device=device)
        return State(z, z, z, torch.zeros(batch, self.deter_dim, device=device))

    def _dist(self, x: torch.Tensor, deter: torch.Tensor, sample: bool) -> State:
        mean, raw_std = x.float().chunk(2, -1)
        std = F.softplus(raw_std) + self.min_std
        stoch = mean + std * torch.randn_like(std) if sample else mean
        return State(mean, std, stoch, deter)

    def img_step(
        self,
        prev: State,
        action: torch.Tensor | None = None,
        action_proj: torch.Tensor | None = None,
        sample: bool = True,
    ) -> State:
        """Prior of the next state. ``action_proj`` = img_in_action(action), when precomputed."""
        if action_proj is None:
            action_proj = self.img_in_action(action)
        x = F.elu(self.img_in_stoch(prev.stoch) + action_proj)
        deter = self.gru(x, prev.deter).float()
        h = F.elu(self.img_hidden(deter))
        return self._dist(self.img_out(h), deter, sample)

    def obs_step(
        self,
        prior: State,
        embed: torch.Tensor | None = None,
        embed_proj: torch.Tensor | None = None,
        sample: bool = True,
    ) -> State:
        """Posterior given the prior's deterministic state and the image embedding."""
        if embed_proj is None:
            embed_proj = self.obs_in_embed(embed)
        h = F.elu(self.obs_in_deter(prior.deter) + embed_proj)
        return self._dist(self.obs_out(h), prior.deter, sample)

    def observe(
        self, embed: torch.Tensor, action: torch.Tensor, start: State | None = None, sample: bool = True
    ) -> tuple[State, State]:
        """Filter a (B, T) sequence; ``action[:, t]`` is the action that led to observation t.

        Returns (posterior, prior), each field shaped (B, T, ...).
        """
        B, T = embed.shape[:2]
        state = start if start is not None else self.initial(B, embed.device)
        action_proj = self.img_in_action(action)  # (B, T, hidden): one matmul for the sequence
        embed_proj = self.obs_in_embed(embed)
        posts, priors = [], []
        for t in range(T):
            prior = self.img_step(state, action_proj=action_proj[:, t], sample=sample)
            state = self.obs_step(prior, embed_proj=embed_proj[:, t], sample=sample)
            posts.append(state)
            priors.append(prior)
        return stack_states(posts, 1), stack_states(priors, 1)

    def imagine(
        self, start: State, policy: Callable[[torch.Tensor], torch.Tensor], horizon: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Roll the prior forward ``horizon`` steps with actions a_t = policy(feat_t).

        Returns features (H+1, N, F) for z_0 (= start) .. z_H and actions (H, N, A) with a_t
        taken in z_t. The policy sees detached features (the actor must not shape the model).
        """
        state = start
        feats, actions = [state.feat()], []
        for _ in range(horizon):
            action = policy(state.feat().detach())
            state = self.img_step(state, action)
            feats.append(state.feat())
            actions.append(action)
        return torch.stack(feats), torch.stack(actions)

    def open_loop(self, post: State, action: torch.Tensor, horizon: int) -> torch.Tensor:
        """Features (B, T, F): the posterior at t = 0, H, 2H, ..., the prior in between.

        From each restart the prior is rolled forward on ``action[:, t]`` (the action that led
        to observation t), so frame t sits (t mod H) imagined steps after its restart.
        """
        T = action.shape[1]
        feats = []
        state = None
        for t in range(T):
            if t % horizon == 0:
                state = post.map(lambda x, t=t: x[:, t])
            else:
                state = self.img_step(state, action[:, t])
            feats.append(state.feat())
        return torch.stack(feats, 1)
