"""Gridworld observations: state layouts, image colours, hidden objects, camera noise."""

from __future__ import annotations

import math

import numpy as np

from sim_bridges import make
from sim_bridges.gridworld.render import TILE

FLOOR = (214, 237, 240)
WALL = (100, 100, 100)
GREEN = (0, 255, 0)
BLUE = (0, 0, 204)
MAGENTA = (255, 0, 255)
RED = (255, 0, 0)


def tile(img: np.ndarray, cell: tuple[int, int]) -> np.ndarray:
    x, y = cell
    return img[y * TILE : (y + 1) * TILE, x * TILE : (x + 1) * TILE]


def has_colour(img: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.all(img == colour, axis=-1).any())


def test_tile_colours_and_grid_lines() -> None:
    env = make("tiger_door", noise=False)
    obs, _ = env.reset(seed=0, options={"layout": 0})
    img = obs["image"]
    assert img.dtype == np.uint8 and img.shape == (42, 42, 3)
    assert np.all(tile(img, (0, 0)) == WALL) and np.all(tile(img, (2, 1)) == WALL)
    assert np.all(tile(img, (1, 4)) == MAGENTA)
    floor = tile(img, (1, 3))
    assert np.all(floor[1:, 1:] == FLOOR)
    # A 1/32-tile grey line at 3x supersampling: the top row/left column average 1 grey, 2 floor.
    assert tuple(floor[0, 3]) == tuple((100 + 2 * np.array(FLOOR)) // 3)
    agent = tile(img, (1, 1))
    assert has_colour(agent, RED)
    # The triangle points +y (down): its wide base, hence most of its red, is in the upper half.
    redness = 237.0 - agent[1:, 1:, 1]
    centroid = (redness.sum(axis=1) * np.arange(1, TILE)).sum() / redness.sum()
    assert centroid < (TILE - 1) / 2
    assert np.all(img[img.shape[0] - TILE :] == WALL)


def test_tiger_door_doors_hidden_until_lit() -> None:
    for name, doors in (("tiger_door", ((5, 2), (5, 4))), ("tiger_door_2", ((2, 3), (6, 3)))):
        env = make(name, noise=False)
        for layout in (0, 1):
            obs, _ = env.reset(seed=0, options={"layout": layout})
            assert not has_colour(obs["image"], GREEN) and not has_colour(obs["image"], BLUE)
            for d in doors:
                assert np.all(tile(obs["image"], d)[1:, 1:] == FLOOR)
            privileged = env.render_privileged()
            goal, hazard = (doors[0], doors[1]) if layout == 0 else (doors[1], doors[0])
            assert np.all(tile(privileged, goal) == GREEN) and np.all(tile(privileged, hazard) == BLUE)
            press = (1, 1, 1) if name == "tiger_door" else (3,)
            for a in press:
                obs, *_ = env.step(a)
            assert np.all(tile(obs["image"], goal) == GREEN) and np.all(tile(obs["image"], hazard) == BLUE)
            assert has_colour(tile(obs["image"], env.spec.button), RED)  # agent drawn over the button


def test_frozen_lake_hazard_never_visible() -> None:
    env = make("frozen_lake", noise=False)
    rng = np.random.default_rng(0)
    for k in range(9):
        obs, _ = env.reset(seed=k, options={"layout": k})
        assert np.all(tile(obs["image"], (5, 3)) == GREEN)
        for _ in range(30):
            assert not has_colour(obs["image"], BLUE)
            obs, _, term, trunc, _ = env.step(int(rng.integers(4)))
            if term or trunc:
                break
        assert has_colour(env.render_privileged(), BLUE)


def test_state_layouts() -> None:
    env = make("tiger_door", render_images=False)
    obs, _ = env.reset(seed=0, options={"layout": 1})  # goal at the bottom door
    s, p = obs["state"], obs["partial_state"]
    assert s[0] == 1 and s[:25].sum() == 1  # agent (1,1) -> index 0
    assert s[25:].tolist() == [0, 1, 1, 0, 0]
    assert p[:25].tolist() == s[:25].tolist() and not p[25:].any()
    for a in (1, 1, 1):
        obs, *_ = env.step(a)
    s, p = obs["state"], obs["partial_state"]
    assert s[(1 - 1) * 5 + (4 - 1)] == 1 and s[-1] == 1
    np.testing.assert_array_equal(s, p)

    env = make("frozen_lake", render_images=False)
    obs, _ = env.reset(seed=0, options={"layout": 4})
    assert obs["state"][(1 - 1) * 5 + (3 - 1)] == 1 and obs["state"][25 + 4] == 1
    np.testing.assert_array_equal(obs["partial_state"], obs["state"][:25])

    env = make("tiger_door_1", render_images=False)
    obs, _ = env.reset(seed=0, options={"layout": 0})
    assert obs["state"][(4 - 1) * 7 + (4 - 1)] == 1
    assert obs["state"][49:].tolist() == [1, 0, 0, 1, 0] and not obs["partial_state"][49:].any()
    for v in obs.values():
        assert v.dtype == np.float32


def test_noise_statistics() -> None:
    noisy, clean = make("frozen_lake"), make("frozen_lake", noise=False)
    clean_img = clean.reset(seed=3)[0]["image"].astype(np.int16)
    diffs = []
    obs, _ = noisy.reset(seed=3)
    for _ in range(40):
        diffs.append(obs["image"].astype(np.int16) - clean_img)
        obs, *_ = noisy.step(2)  # bump into the left wall: the clean image does not change
    d = np.stack(diffs)
    mid = (clean_img > 70) & (clean_img < 185)  # pixels never clipped at +-5 sigma
    x = d[:, mid] / 255.0
    assert abs(x.mean()) < 0.001
    assert abs(x.std() - 0.05) < 0.001  # quantisation adds only 1/12 LSB^2
    # Quantised to integers, independent across pixels and time.
    assert abs(np.corrcoef(x[:-1].ravel(), x[1:].ravel())[0, 1]) < 0.02
    assert abs(np.corrcoef(x[:, :-1].ravel(), x[:, 1:].ravel())[0, 1]) < 0.02
    # Tail frequency matches the quantised Gaussian: |round(255 n)| >= 27 iff |n| >= 26.5 / 255.
    expected = math.erfc(26.5 / 12.75 / math.sqrt(2))
    assert abs(np.mean(np.abs(d[:, mid]) >= 27) - expected) < 0.003
    # Saturated channels are clipped, not wrapped: green 255 goal pixels stay high.
    goal = d[:, 3 * TILE + 1 : 4 * TILE, 5 * TILE + 1 : 6 * TILE, 1]
    assert goal.max() == 0 and goal.min() < -20


def test_render_images_off() -> None:
    env = make("tiger_door", render_images=False)
    obs, _ = env.reset(seed=0)
    assert "image" not in obs and "image" not in env.observation_space.spaces
    assert env.render_privileged().shape == (42, 42, 3)
