"""Vectorised gridworld dynamics: N copies of one GridSpec stepped with array operations.

Each copy owns two random streams spawned from its seed: one for the layout draw at reset
and one for the camera noise. A copy therefore evolves identically whether it is stepped
alone or inside a batch, and the layouts a seed produces do not depend on whether images or
noise are switched on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE, Obs
from sim_bridges.gridworld.layouts import (
    BUTTON,
    GOAL,
    GOAL_BONUS,
    HAZARD,
    HAZARD_PENALTY,
    HORIZON,
    MOVES,
    STEP_REWARD,
    WALL,
    GridSpec,
)
from sim_bridges.gridworld.render import Renderer


class GridCore:
    """The state of N gridworld copies and their vectorised step, reset and observation."""

    def __init__(self, spec: GridSpec, num_envs: int, *, render_images: bool = True, noise: bool = True):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.spec = spec
        self.n = num_envs
        self.render_images = render_images
        self.renderer = Renderer(spec, noise=noise) if render_images else None
        s = spec.size
        self.maps = np.stack([spec.code_map(k) for k in range(len(spec.layouts))])  # (L, cells)
        self.deltas = np.array([dx + dy * s for dx, dy in MOVES], np.int64)
        # Flat cell index -> position in the agent one-hot, (x-1)*interior + (y-1).
        idx = np.full(spec.num_cells, -1, np.int64)
        for y in range(1, s - 1):
            for x in range(1, s - 1):
                idx[spec.flat((x, y))] = (x - 1) * spec.interior + (y - 1)
        self.onehot_index = idx
        self.features = np.array([lay.features for lay in spec.layouts], np.float32)
        self.start = spec.flat(spec.start)
        self.pos = np.full(num_envs, self.start, np.int64)
        self.layout = np.zeros(num_envs, np.int64)
        self.lit = np.zeros(num_envs, bool)
        self.t = np.zeros(num_envs, np.int64)
        self.layout_rngs: list[np.random.Generator | None] = [None] * num_envs
        self.noise_bitgens: list[np.random.BitGenerator | None] = [None] * num_envs

    # -- seeding and reset ------------------------------------------------------------------
    def seed(self, i: int, seed: int | None) -> None:
        """Give copy i fresh streams derived from `seed` (OS entropy when None)."""
        layout_seq, noise_seq = np.random.SeedSequence(seed).spawn(2)
        self.layout_rngs[i] = np.random.Generator(np.random.PCG64(layout_seq))
        self.noise_bitgens[i] = np.random.PCG64(noise_seq)

    def reset(self, indices: Sequence[int] | np.ndarray, layout: int | None = None) -> None:
        """Start new episodes in the given copies; `layout` forces the layout (for tests)."""
        if layout is not None and not 0 <= layout < len(self.spec.layouts):
            raise ValueError(f"layout must be in 0..{len(self.spec.layouts) - 1}, got {layout}")
        for i in indices:
            rng = self.layout_rngs[i]
            if rng is None:
                self.seed(i, None)
                rng = self.layout_rngs[i]
            drawn = int(rng.integers(len(self.spec.layouts)))  # always drawn: keeps streams aligned
            self.layout[i] = drawn if layout is None else layout
        idx = np.asarray(indices, np.int64)
        self.pos[idx] = self.start
        self.lit[idx] = False
        self.t[idx] = 0

    # -- dynamics -----------------------------------------------------------------------------
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Move every copy; returns reward, terminated, truncated, success, hazard."""
        a = np.asarray(actions).reshape(-1)
        if a.shape[0] != self.n:
            raise ValueError(f"expected {self.n} actions, got shape {np.shape(actions)}")
        if not np.issubdtype(a.dtype, np.integer):
            if not np.all(a == np.round(a)):
                raise ValueError("gridworld actions must be integers 0..3")
            a = a.astype(np.int64)
        if a.min() < 0 or a.max() > 3:
            raise ValueError(f"gridworld actions must be in 0..3, got {a}")
        target = self.pos + self.deltas[a]
        cell = self.maps[self.layout, target]
        self.pos = np.where(cell == WALL, self.pos, target)
        cell = self.maps[self.layout, self.pos]
        success = cell == GOAL
        hazard = cell == HAZARD
        self.lit |= cell == BUTTON
        self.t += 1
        reward = np.full(self.n, STEP_REWARD, np.float32)
        reward[success] += GOAL_BONUS
        reward[hazard] += HAZARD_PENALTY
        terminated = success | hazard
        truncated = (self.t >= HORIZON) & ~terminated
        return reward, terminated, truncated, success, hazard

    # -- observations -------------------------------------------------------------------------
    def states(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Privileged state and partial_state rows for the given copies."""
        spec = self.spec
        n = len(idx)
        k = spec.interior**2
        state = np.zeros((n, spec.state_dim), np.float32)
        state[np.arange(n), self.onehot_index[self.pos[idx]]] = 1.0
        state[:, k : k + spec.feature_dim] = self.features[self.layout[idx]]
        if spec.state_has_flag:
            state[:, -1] = self.lit[idx]
        if spec.partial_reveals_layout:
            partial = state.copy()
            partial[:, k:] *= self.lit[idx, None]
        else:
            partial = state[:, :k].copy()
        return state, partial

    def observe(self, idx: np.ndarray | None = None) -> Obs:
        """Observation dict for the given copies (all when None); draws their camera noise."""
        if idx is None:
            idx = np.arange(self.n)
        state, partial = self.states(idx)
        obs: Obs = {STATE: state, PARTIAL_STATE: partial}
        if self.renderer is not None:
            bitgens = [self.noise_bitgens[i] for i in idx]
            obs[IMAGE] = self.renderer.render(self.layout[idx], self.lit[idx], self.pos[idx], bitgens)
        return obs
