"""Vectorised rollouts under the per-step β-mixture of expert (on state) and trainee (on image).

Every iteration re-seeds the batched env and uses its own torch generator, both derived from
(seed, iteration), so an iteration's data depends only on the parameters at its start: that
is what makes kill-and-resume continue bit-identically without saving simulator state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from policies.networks import PolicyNet

IMAGE, STATE, PARTIAL = "image", "state", "partial_state"


class FrameWindow:
    """The last K camera frames per env, oldest first; a new episode starts with K copies."""

    def __init__(self, k: int) -> None:
        self.k = max(int(k), 1)
        self.buf: np.ndarray | None = None

    def reset(self, images: np.ndarray) -> None:
        self.buf = np.repeat(images[:, None], self.k, axis=1)

    def final_window(self, i: int, final_image: np.ndarray) -> np.ndarray:
        assert self.buf is not None
        return np.concatenate([self.buf[i, 1:], final_image[None]], 0)

    def push(self, images: np.ndarray, new_episode: np.ndarray) -> None:
        assert self.buf is not None
        if self.k == 1:
            self.buf = images[:, None].copy()
        else:
            self.buf = np.concatenate([self.buf[:, 1:], images[:, None]], 1)
        if new_episode.any():
            self.buf[new_episode] = np.repeat(images[new_episode][:, None], self.k, axis=1)


def final_observations(info: dict, dones: np.ndarray) -> dict[int, dict[str, np.ndarray]]:
    """The pre-reset observations of finished copies, from either ``final_obs`` layout.

    ``SerialBatchedEnv`` gives ``{env_index: obs_dict}``; a vectorised env may give an obs dict
    of (N, ...) arrays valid at the done rows. Both are accepted.
    """
    fo = info.get("final_obs")
    if fo is None:
        return {}
    if isinstance(fo, dict) and fo and all(isinstance(k, (int, np.integer)) for k in fo):
        return {int(k): v for k, v in fo.items()}
    if isinstance(fo, dict):
        return {int(i): {k: v[i] for k, v in fo.items()} for i in np.flatnonzero(dones)}
    if isinstance(fo, (list, tuple, np.ndarray)):
        return {int(i): fo[i] for i in np.flatnonzero(dones) if fo[i] is not None}
    return {}


def to_inputs(
    obs: dict[str, np.ndarray], window: FrameWindow | None, keys: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """Network inputs for the requested keys: float32 states, uint8 (N, K, H, W, C) image windows."""
    out: dict[str, torch.Tensor] = {}
    for k in keys:
        if k == IMAGE:
            assert window is not None and window.buf is not None
            out[k] = torch.from_numpy(window.buf.copy())
        else:
            out[k] = torch.from_numpy(np.asarray(obs[k], np.float32).copy())
    return out


@dataclass
class Actor:
    """A policy and the observation key it reads."""

    policy: PolicyNet
    key: str


@dataclass
class Rollout:
    """(T, N) arrays of one iteration's data, plus bootstrap and pre-reset final inputs."""

    inputs: dict[str, torch.Tensor]  # key -> (T, N, ...)
    last: dict[str, torch.Tensor]  # key -> (N, ...): inputs after the final step
    finals: dict[str, torch.Tensor]  # key -> (M, ...): pre-reset inputs of ended episodes
    final_t: torch.Tensor  # (M,)
    final_n: torch.Tensor  # (M,)
    actions: torch.Tensor  # (T, N) int64 or (T, N, A) float32 (unclipped samples)
    rewards: torch.Tensor  # (T, N)
    terminated: torch.Tensor  # (T, N) bool
    dones: torch.Tensor  # (T, N) bool
    expert_acted: torch.Tensor  # (T, N) bool
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)

    @property
    def num_steps(self) -> int:
        return int(self.rewards.numel())


def sample_actions(
    actor: Actor, inputs: dict[str, torch.Tensor], generator: torch.Generator, deterministic: bool = False
) -> torch.Tensor:
    """Actions from one policy (with an explicit generator, so rollouts are reproducible)."""
    out = actor.policy(inputs[actor.key])
    if actor.policy.discrete:
        if deterministic:
            return out.argmax(-1)
        probs = torch.softmax(out, -1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    if deterministic:
        return out
    std = actor.policy.log_std.exp()
    return out + std * torch.randn(out.shape, generator=generator)


def env_actions(
    actions: torch.Tensor, discrete: bool, low: np.ndarray | None, high: np.ndarray | None
) -> np.ndarray:
    a = actions.numpy()
    if discrete:
        return a.astype(np.int64)
    if low is not None and high is not None and len(low):
        a = np.clip(a, low, high)
    return a.astype(np.float32)


@torch.no_grad()
def collect(
    env,
    steps: int,
    expert: Actor | None,
    trainee: Actor | None,
    beta: float,
    keys: tuple[str, ...],
    frame_window: int,
    seed: int,
    generator: torch.Generator,
    discrete: bool,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> Rollout:
    """``steps`` steps of every copy under π_β = β π_θ(·|s) + (1−β) π_ψ(·|o), sampled per step and copy."""
    obs, _ = env.reset(seed=seed)
    n = env.num_envs
    window = FrameWindow(frame_window) if IMAGE in keys else None
    if window is not None:
        window.reset(obs[IMAGE])
    store: dict[str, list[torch.Tensor]] = {k: [] for k in keys}
    finals: dict[str, list[torch.Tensor]] = {k: [] for k in keys}
    final_t: list[int] = []
    final_n: list[int] = []
    acts, rews, terms, dones_l, masks = [], [], [], [], []
    ep_ret = np.zeros(n, np.float64)
    ep_len = np.zeros(n, np.int64)
    returns: list[float] = []
    lengths: list[int] = []
    for t in range(steps):
        inp = to_inputs(obs, window, keys)
        for k in keys:
            store[k].append(inp[k])
        if trainee is None or (expert is not None and beta >= 1.0):
            assert expert is not None
            a = sample_actions(expert, inp, generator)
            mask = torch.ones(n, dtype=torch.bool)
        elif expert is None or beta <= 0.0:
            a = sample_actions(trainee, inp, generator)
            mask = torch.zeros(n, dtype=torch.bool)
        else:
            mask = torch.rand(n, generator=generator) < beta
            a_e = sample_actions(expert, inp, generator)
            a_l = sample_actions(trainee, inp, generator)
            a = torch.where(mask if discrete else mask[:, None], a_e, a_l)
        obs, reward, term, trunc, info = env.step(env_actions(a, discrete, low, high))
        reward = np.asarray(reward, np.float32)
        term = np.asarray(term, bool)
        done = term | np.asarray(trunc, bool)
        ep_ret += reward
        ep_len += 1
        if done.any():
            fo = final_observations(info, done)
            for i in np.flatnonzero(done):
                returns.append(float(ep_ret[i]))
                lengths.append(int(ep_len[i]))
                if i in fo:
                    f = fo[i]
                    for k in keys:
                        if k == IMAGE:
                            assert window is not None
                            finals[k].append(torch.from_numpy(window.final_window(i, f[IMAGE])))
                        else:
                            finals[k].append(torch.from_numpy(np.asarray(f[k], np.float32)))
                    final_t.append(t)
                    final_n.append(int(i))
            ep_ret[done] = 0.0
            ep_len[done] = 0
        if window is not None:
            window.push(obs[IMAGE], done)
        acts.append(a)
        rews.append(torch.from_numpy(reward))
        terms.append(torch.from_numpy(term))
        dones_l.append(torch.from_numpy(done))
        masks.append(mask)
    last = to_inputs(obs, window, keys)
    fin = {k: (torch.stack(v) if v else last[k][:0]) for k, v in finals.items()}
    return Rollout(
        inputs={k: torch.stack(v) for k, v in store.items()},
        last=last,
        finals=fin,
        final_t=torch.tensor(final_t, dtype=torch.long),
        final_n=torch.tensor(final_n, dtype=torch.long),
        actions=torch.stack(acts),
        rewards=torch.stack(rews),
        terminated=torch.stack(terms),
        dones=torch.stack(dones_l),
        expert_acted=torch.stack(masks),
        episode_returns=returns,
        episode_lengths=lengths,
    )
