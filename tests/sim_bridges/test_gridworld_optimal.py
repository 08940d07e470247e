"""Reference returns checked by search and rollouts, never by restating constants.

* MDP optimum: breadth-first search over the real env's step() (action prefixes replayed
  in a forced layout), independent of the oracle.
* POMDP optimum: an exhaustive belief-space search (expectimax over what the camera can
  reveal) gives an upper bound that the scripted POMDP oracle attains in rollouts.
* Averaged policy: rollouts of the majority-vote imitation policy over all layouts/guesses.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from sim_bridges import make
from sim_bridges.gridworld.layouts import BUTTON, GOAL, HAZARD, MOVES, SPECS, WALL
from sim_bridges.gridworld.oracle import Oracle, averaged_policy, mdp_policy, pomdp_policy, rollout_return

NAMES = sorted(SPECS)


def shortest_success(name: str, layout: int, max_depth: int = 12) -> int:
    """Fewest moves to the goal found by BFS over env.step(), agent cells as BFS nodes."""
    env = make(name, render_images=False)
    frontier: list[list[int]] = [[]]
    seen = set()
    for depth in range(1, max_depth + 1):
        nxt = []
        for prefix in frontier:
            for a in range(4):
                env.reset(seed=0, options={"layout": layout})
                for p in prefix:
                    env.step(p)
                obs, _, term, _, info = env.step(a)
                if info["success"]:
                    return depth
                key = (obs["state"].tobytes(), bool(info.get("illuminated", False)))
                if not term and key not in seen:
                    seen.add(key)
                    nxt.append([*prefix, a])
        frontier = nxt
    raise AssertionError("goal not reachable")


@pytest.mark.parametrize("name", NAMES)
def test_mdp_optimum_by_search_and_oracle(name: str) -> None:
    spec = SPECS[name]()
    L = len(spec.layouts)
    best = np.mean([18.0 - 2.0 * (shortest_success(name, k) - 1) for k in range(L)])
    assert best == pytest.approx(spec.reference_returns["mdp_optimal"])
    oracle, env = Oracle(spec), make(name, render_images=False)
    rollouts = [rollout_return(env, mdp_policy(oracle), k) for k in range(L)]
    assert np.mean([r for r, _ in rollouts]) == pytest.approx(best)
    assert make(name).info.reference_returns["mdp_optimal"] == pytest.approx(best)


def pomdp_upper_bound(name: str, depth: int = 14) -> float:
    """Expected return of the best observation-based policy, by expectimax over beliefs.

    A belief is the set of layouts consistent with what has been seen; a move's outcome
    (goal, hazard, button reveal) splits it. Episodes unfinished after `depth` moves are
    scored optimistically (as if the goal came next), so the result bounds the optimum from
    above; it is exact when the optimal policy finishes within `depth` moves.
    """
    spec = SPECS[name]()
    maps = [spec.code_map(k) for k in range(len(spec.layouts))]
    s = spec.size

    @cache
    def value(pos: int, belief: frozenset[int], lit: bool, left: int) -> float:
        if left == 0:
            return 18.0  # optimistic: the goal on the very next move
        best = -np.inf
        for dx, dy in MOVES:
            target = pos + dx + dy * s
            nxt = pos if maps[0][target] == WALL else target  # walls are the same in every layout
            groups: dict[tuple, list[int]] = {}
            for k in belief:
                code = int(maps[k][nxt])
                reveal = (code == BUTTON or lit) and spec.partial_reveals_layout
                key = (code if code in (GOAL, HAZARD) else -1, k if reveal else -1)
                groups.setdefault(key, []).append(k)
            total = 0.0
            for (code, _), members in groups.items():
                w = len(members) / len(belief)
                if code == GOAL:
                    total += w * 18.0
                elif code == HAZARD:
                    total += w * -102.0
                else:
                    now_lit = lit or maps[0][nxt] == BUTTON
                    total += w * (-2.0 + value(nxt, frozenset(members), now_lit, left - 1))
            best = max(best, total)
        return best

    return value(spec.flat(spec.start), frozenset(range(len(maps))), False, depth)


@pytest.mark.parametrize("name", NAMES)
def test_pomdp_optimum_by_exhaustive_search_and_oracle(name: str) -> None:
    spec = SPECS[name]()
    bound = pomdp_upper_bound(name)
    oracle, env = Oracle(spec), make(name, render_images=False)
    achieved = np.mean([rollout_return(env, pomdp_policy(oracle), k)[0] for k in range(len(spec.layouts))])
    assert achieved == pytest.approx(bound)  # attains the upper bound, so it is optimal
    assert achieved == pytest.approx(spec.reference_returns["pomdp_optimal"])


@pytest.mark.parametrize("name", NAMES)
def test_pomdp_oracle_uses_only_partial_state(name: str) -> None:
    spec = SPECS[name]()
    oracle, env = Oracle(spec), make(name, render_images=False)
    traces = []
    for k in range(len(spec.layouts)):
        obs, _ = env.reset(seed=0, options={"layout": k})
        trace = []
        while not obs["partial_state"][spec.interior**2 :].any():
            a = int(oracle.pomdp_actions(obs["partial_state"])[0])
            trace.append(a)
            obs, _, term, _, info = env.step(a)
            assert not info["hazard"]
            if term:
                break
        traces.append(trace)
    assert all(t == traces[0] for t in traces)  # same actions until the layout is revealed


@pytest.mark.parametrize("name", NAMES)
def test_averaged_policy_return(name: str) -> None:
    spec = SPECS[name]()
    oracle, env = Oracle(spec), make(name, render_images=False)
    L = len(spec.layouts)
    returns = [rollout_return(env, averaged_policy(oracle, g), k)[0] for k in range(L) for g in range(L)]
    assert np.mean(returns) == pytest.approx(spec.reference_returns["averaged_policy"])


def test_oracle_is_batched() -> None:
    spec = SPECS["frozen_lake"]()
    oracle = Oracle(spec)
    env = make("frozen_lake", render_images=False)
    states = np.stack([env.reset(seed=0, options={"layout": k})[0]["state"] for k in range(9)])
    actions = oracle.mdp_actions(states)
    assert actions.shape == (9,)
    # Hazard on row 3 at (2,3): the expert detours at once; elsewhere it heads straight (+x).
    assert actions[3] != 0 and actions[[0, 1, 2, 4, 5, 6, 7, 8]].tolist() == [0] * 8
