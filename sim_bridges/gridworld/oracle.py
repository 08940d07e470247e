"""Scripted optimal policies for the gridworlds, usable as experts and as test oracles.

* MDP expert (sees ``state``): shortest path to the goal that avoids the hazard.
* POMDP expert (sees ``partial_state``): Tiger Door - walk to the button avoiding both doors,
  then take the shortest path to the revealed goal; Frozen Lake - go round every cell the
  hazard might occupy.
* Averaged policy (sees ``partial_state``): what naive imitation of the MDP expert converges
  to - the action most layouts' experts agree on, with ties broken in favour of a per-episode
  guessed layout (Tiger Door: walk to a random door; Frozen Lake: walk straight across).

All policies are lookup tables built by breadth-first search over the spec's deterministic
moves, so they cost one gather per batch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

from sim_bridges.api import PARTIAL_STATE, STATE, Obs
from sim_bridges.gridworld.layouts import MOVES, GridSpec


def bfs_distances(spec: GridSpec, targets: Iterable[int], blocked: set[int]) -> np.ndarray:
    """Moves needed from each flat cell to reach any target (-1 if unreachable)."""
    s = spec.size
    dist = np.full(spec.num_cells, -1, np.int64)
    queue: deque[int] = deque()
    for t in targets:
        dist[t] = 0
        queue.append(t)
    while queue:
        c = queue.popleft()
        y, x = divmod(c, s)
        for dx, dy in MOVES:  # moves are reversible, so search backwards from the targets
            nxt = (y + dy) * s + (x + dx)
            if dist[nxt] < 0 and not spec.is_wall((x + dx, y + dy)) and nxt not in blocked:
                dist[nxt] = dist[c] + 1
                queue.append(nxt)
    return dist


def greedy_actions(spec: GridSpec, dist: np.ndarray) -> np.ndarray:
    """Per cell, the lowest-numbered action that decreases the distance (0 where none does)."""
    s = spec.size
    actions = np.zeros(spec.num_cells, np.int64)
    for c in range(spec.num_cells):
        if dist[c] <= 0:
            continue
        y, x = divmod(c, s)
        for a, (dx, dy) in enumerate(MOVES):
            nxt = (y + dy) * s + (x + dx)
            if dist[nxt] == dist[c] - 1:
                actions[c] = a
                break
    return actions


class Oracle:
    """Optimal MDP, POMDP and averaged policies for one GridSpec, as batched lookups."""

    def __init__(self, spec: GridSpec) -> None:
        self.spec = spec
        cells = [spec.flat(c) for lay in spec.layouts for c in lay.hazard + lay.goal]
        common_goal = set.intersection(*({spec.flat(c) for c in lay.goal} for lay in spec.layouts))
        unsafe = {c for c in cells if c not in common_goal}  # might be a hazard in some layout
        # MDP: per layout, shortest path to the goal around the (known) hazard.
        self.mdp_dist = np.stack(
            [
                bfs_distances(spec, [spec.flat(c) for c in lay.goal], {spec.flat(c) for c in lay.hazard})
                for lay in spec.layouts
            ]
        )
        self.mdp_table = np.stack([greedy_actions(spec, d) for d in self.mdp_dist])
        # POMDP before the layout is known: to the button (or the common goal) avoiding `unsafe`.
        first = [spec.flat(spec.button)] if spec.button is not None else sorted(common_goal)
        self.explore_dist = bfs_distances(spec, first, unsafe)
        self.explore_table = greedy_actions(spec, self.explore_dist)
        k = spec.interior
        self.cell_of_onehot = np.array([spec.flat((1 + i // k, 1 + i % k)) for i in range(k * k)])
        self.features = np.array([lay.features for lay in spec.layouts], np.float32)

    # -- decoding -------------------------------------------------------------------------------
    def _cells(self, x: np.ndarray) -> np.ndarray:
        k = self.spec.interior**2
        return self.cell_of_onehot[np.argmax(x[:, :k], axis=1)]

    def _layouts(self, x: np.ndarray) -> np.ndarray:
        k = self.spec.interior**2
        f = x[:, k : k + self.spec.feature_dim]
        return np.argmax(f @ self.features.T, axis=1)

    def _lit(self, partial: np.ndarray) -> np.ndarray:
        if not self.spec.partial_reveals_layout:
            return np.zeros(len(partial), bool)
        return partial[:, -1] > 0.5

    # -- policies -------------------------------------------------------------------------------
    def mdp_actions(self, state: np.ndarray) -> np.ndarray:
        """Optimal actions given the privileged state, (N, state_dim) -> (N,)."""
        x = np.atleast_2d(state)
        return self.mdp_table[self._layouts(x), self._cells(x)]

    def pomdp_actions(self, partial_state: np.ndarray) -> np.ndarray:
        """Optimal actions given only what the camera can reveal, (N, partial_dim) -> (N,)."""
        x = np.atleast_2d(partial_state)
        cells = self._cells(x)
        actions = self.explore_table[cells]
        lit = self._lit(x)
        if lit.any():
            actions[lit] = self.mdp_table[self._layouts(x[lit]), cells[lit]]
        return actions

    def averaged_actions(self, partial_state: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """The majority MDP-expert action over layouts consistent with the observation.

        `guess` (N,) is a layout index drawn once per episode; its expert's action wins ties.
        """
        x = np.atleast_2d(partial_state)
        n, L = len(x), len(self.spec.layouts)
        cells = self._cells(x)
        lit = self._lit(x)
        per_layout = self.mdp_table[:, cells].T  # (n, L)
        consistent = np.ones((n, L), bool)
        if lit.any():
            consistent[lit] = np.arange(L)[None, :] == self._layouts(x[lit])[:, None]
        votes = np.zeros((n, 4))
        np.add.at(votes, (np.repeat(np.arange(n), L), per_layout.ravel()), consistent.ravel())
        best = votes == votes.max(axis=1, keepdims=True)
        guessed = per_layout[np.arange(n), np.asarray(guess)]
        use_guess = best[np.arange(n), guessed] & consistent[np.arange(n), np.asarray(guess)]
        return np.where(use_guess, guessed, np.argmax(best, axis=1))


Policy = Callable[[Obs], int]


def rollout_return(env: object, policy: Policy, layout: int, seed: int = 0) -> tuple[float, int]:
    """Return and length of one episode of a single env in a forced layout."""
    obs, _ = env.reset(seed=seed, options={"layout": layout})  # type: ignore[attr-defined]
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(policy(obs))  # type: ignore[attr-defined]
        total += reward
        steps += 1
        if terminated or truncated:
            return total, steps


def mdp_policy(oracle: Oracle) -> Policy:
    """Single-env policy callable from the MDP expert."""
    return lambda obs: int(oracle.mdp_actions(obs[STATE])[0])


def pomdp_policy(oracle: Oracle) -> Policy:
    """Single-env policy callable from the POMDP expert."""
    return lambda obs: int(oracle.pomdp_actions(obs[PARTIAL_STATE])[0])


def averaged_policy(oracle: Oracle, guess: int) -> Policy:
    """Single-env policy callable from the averaged policy with a fixed tie-break guess."""
    return lambda obs: int(oracle.averaged_actions(obs[PARTIAL_STATE], np.array([guess]))[0])
