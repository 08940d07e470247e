"""A BatchedEnv over independent single environments, for simulators with no native batching."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim_bridges.api import AsymmetricEnv, Obs


def stack_obs(obs_list: Sequence[Obs]) -> Obs:
    """Stack per-env observation dicts into one dict of (N, ...) arrays."""
    return {key: np.stack([o[key] for o in obs_list]) for key in obs_list[0]}


class SerialBatchedEnv:
    """Steps N environments one after another and resets finished ones automatically."""

    def __init__(self, envs: Sequence[AsymmetricEnv]) -> None:
        if not envs:
            raise ValueError("SerialBatchedEnv needs at least one environment")
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        self.info = self.envs[0].info
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space

    def reset(self, *, seed: int | None = None) -> tuple[Obs, dict]:
        # Distinct, reproducible seeds per copy; later resets continue each env's own RNG.
        results = [env.reset(seed=None if seed is None else seed + i) for i, env in enumerate(self.envs)]
        return stack_obs([o for o, _ in results]), {"per_env": [i for _, i in results]}

    def step(self, actions: np.ndarray) -> tuple[Obs, np.ndarray, np.ndarray, np.ndarray, dict]:
        obs_list, rewards, terms, truncs, infos = [], [], [], [], []
        final_obs: dict[int, Obs] = {}
        for i, env in enumerate(self.envs):
            obs, reward, term, trunc, info = env.step(actions[i])
            if term or trunc:
                final_obs[i] = obs
                obs, _ = env.reset()
            obs_list.append(obs)
            rewards.append(reward)
            terms.append(term)
            truncs.append(trunc)
            infos.append(info)
        return (
            stack_obs(obs_list),
            np.asarray(rewards, np.float32),
            np.asarray(terms, bool),
            np.asarray(truncs, bool),
            {"per_env": infos, "final_obs": final_obs},
        )

    def close(self) -> None:
        for env in self.envs:
            env.close()
