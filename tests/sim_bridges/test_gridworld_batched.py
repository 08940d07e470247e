"""Gridworld seeding, batched == unbatched equivalence, autoreset and layout frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from sim_bridges import make, make_batched
from sim_bridges.gridworld.layouts import SPECS


def rollout(env, seed: int, actions: list[int]) -> list:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info["layout"]))
        if term or trunc:
            obs, _ = env.reset()
            out.append(obs)
    return out


def assert_same(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    elif isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


def test_seed_reproducible_and_distinct() -> None:
    actions = [int(a) for a in np.random.default_rng(0).integers(0, 4, 300)]
    for name in ("tiger_door", "frozen_lake", "tiger_door_3"):
        first = rollout(make(name), 7, actions)
        again = rollout(make(name), 7, actions)
        assert len(first) == len(again)
        for x, y in zip(first, again, strict=True):
            assert_same(x, y)
        other = make(name).reset(seed=8)[0]
        assert not np.array_equal(other["image"], first[0]["image"])  # noise differs


def test_reset_with_seed_restarts_streams() -> None:
    env = make("frozen_lake")
    a = env.reset(seed=5)[0]
    env.step(0)
    env.reset()
    b = env.reset(seed=5)[0]
    assert_same(a, b)


def test_layout_stream_independent_of_images_and_noise() -> None:
    layouts = []
    for kwargs in ({}, {"noise": False}, {"render_images": False}):
        env = make_batched("frozen_lake", 16, **kwargs)
        _, info = env.reset(seed=3)
        seq = [info["layout"]]
        for _ in range(40):
            _, _, _, _, info = env.step(np.zeros(16, np.int64))
            seq.append(info["layout"])
        layouts.append(np.stack(seq))
    np.testing.assert_array_equal(layouts[0], layouts[1])
    np.testing.assert_array_equal(layouts[0], layouts[2])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_batched_equals_unbatched(name: str) -> None:
    n, steps, seed = 4, 150, 100
    batched = make_batched(name, n)
    singles = [make(name) for _ in range(n)]
    obs, _ = batched.reset(seed=seed)
    single_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    for i in range(n):
        assert_same({k: v[i] for k, v in obs.items()}, single_obs[i])
    rng = np.random.default_rng(1)
    finished = 0
    for _ in range(steps):
        actions = rng.integers(0, 4, n)
        obs, reward, term, trunc, info = batched.step(actions)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(int(actions[i]))
            assert (reward[i], term[i], trunc[i]) == (r, te, tr)
            assert (info["success"][i], info["hazard"][i]) == (inf["success"], inf["hazard"])
            if te or tr:
                finished += 1
                assert_same(info["final_obs"][i], o)
                o, _ = env.reset()
            else:
                assert i not in info["final_obs"]
            assert_same({k: v[i] for k, v in obs.items()}, o)
    assert finished > 0


def test_batched_reset_accepts_seed_list_and_registry_convention() -> None:
    a = make_batched("tiger_door", 3)
    b = make_batched("tiger_door", 3)
    assert_same(a.reset(seed=[10, 11, 12])[0], b.reset(seed=10)[0])


def test_autoreset_returns_first_obs_of_next_episode() -> None:
    env = make_batched("tiger_door_1", 2, noise=False)
    env.reset(seed=0, options={"layout": 0})  # goal on the left (x=3)
    obs, reward, term, trunc, info = env.step(np.array([2, 0]))  # -x: goal, +x: hazard
    assert term.tolist() == [True, True] and not trunc.any()
    assert reward.tolist() == [18.0, -102.0]
    assert info["success"].tolist() == [True, False] and info["hazard"].tolist() == [False, True]
    start = (4 - 1) * 7 + (4 - 1)
    assert obs["state"][:, start].tolist() == [1.0, 1.0]  # both restarted at (4, 4)
    assert info["final_obs"][0]["state"][(3 - 1) * 7 + (4 - 1)] == 1.0
    assert info["final_obs"][1]["state"][(5 - 1) * 7 + (4 - 1)] == 1.0
    assert not np.array_equal(info["final_obs"][0]["image"], obs["image"][0])


def test_layout_frequencies() -> None:
    n = 9000
    for name, count in (("tiger_door", 2), ("frozen_lake", 9), ("tiger_door_2", 2)):
        env = make_batched(name, n, render_images=False)
        _, info = env.reset(seed=0)
        freq = np.bincount(info["layout"], minlength=count) / n
        sd = np.sqrt((1 / count) * (1 - 1 / count) / n)
        assert np.all(np.abs(freq - 1 / count) < 4 * sd), freq
    # A single env's successive episodes are also uniformly randomised.
    env = make("tiger_door", render_images=False)
    env.reset(seed=1)
    seen = [env.reset()[1]["layout"] for _ in range(2000)]
    assert abs(np.mean(seen) - 0.5) < 4 * np.sqrt(0.25 / 2000)
