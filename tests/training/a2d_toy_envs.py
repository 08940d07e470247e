"""A tiny continuous-action asymmetric env for tests (no simulator files needed).

A point on a line must reach a target at ±0.5. The state has (x, target); the image is a
1×12 strip (uint8, mono) showing the point and, like the privileged state, the target; the
partial state hides the target. Reward −|x − target| per step, horizon 10.
"""

from __future__ import annotations

import numpy as np

from sim_bridges.api import EnvInfo


class PointTargetBatched:
    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.info = EnvInfo(
            name="point_target",
            image_encoding="mono8",
            image_shape=(12, 12, 1),
            state_dim=2,
            partial_state_dim=1,
            discrete_actions=None,
            action_dim=1,
            action_low=(-1.0,),
            action_high=(1.0,),
            action_names=("velocity",),
            control_rate_hz=20.0,
            horizon=10,
        )
        self.rng = np.random.default_rng(0)
        self.x = np.zeros(num_envs)
        self.g = np.zeros(num_envs)
        self.t = np.zeros(num_envs, np.int64)

    def _new(self, idx: np.ndarray) -> None:
        self.x[idx] = 0.0
        self.g[idx] = self.rng.choice([-0.5, 0.5], size=len(idx))
        self.t[idx] = 0

    def _obs(self) -> dict[str, np.ndarray]:
        img = np.zeros((self.num_envs, 12, 12, 1), np.uint8)
        cols = np.clip(((self.x + 1) / 2 * 11).round().astype(int), 0, 11)
        gcols = np.clip(((self.g + 1) / 2 * 11).round().astype(int), 0, 11)
        img[np.arange(self.num_envs), :6, cols, 0] = 255
        img[np.arange(self.num_envs), 6:, gcols, 0] = 128
        return {
            "image": img,
            "state": np.stack([self.x, self.g], 1).astype(np.float32),
            "partial_state": self.x[:, None].astype(np.float32),
        }

    def reset(self, *, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict]:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._new(np.arange(self.num_envs))
        return self._obs(), {}

    def step(self, actions: np.ndarray):
        a = np.clip(np.asarray(actions, np.float64).reshape(self.num_envs), -1, 1)
        self.x = np.clip(self.x + 0.25 * a, -1, 1)
        self.t += 1
        reward = (-np.abs(self.x - self.g)).astype(np.float32)
        term = np.zeros(self.num_envs, bool)
        trunc = self.t >= 10
        obs = self._obs()
        final = {}
        if trunc.any():
            idx = np.flatnonzero(trunc)
            final = {int(i): {k: v[i].copy() for k, v in obs.items()} for i in idx}
            self._new(idx)
            fresh = self._obs()
            for k in obs:
                obs[k][idx] = fresh[k][idx]
        return obs, reward, term, trunc, {"final_obs": final}

    def close(self) -> None:
        pass
