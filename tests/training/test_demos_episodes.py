"""Episode files: V-MAIL's layout, row-0 conventions, names, round trip and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.demos.episodes import (
    EpisodeFormatError,
    EpisodeRecorder,
    episode_paths,
    length_from_name,
    load_episodes,
    read_episode,
    validate_episode,
    write_episode,
)


def _recorded(steps: int = 4, size: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    rec = EpisodeRecorder()
    obs = {"image": rng.integers(0, 255, (size, size, 3), np.uint8), "state": np.zeros(3, np.float32)}
    rec.start(obs, action_dim=2)
    for t in range(steps):
        obs = {"image": np.full((size, size, 3), t, np.uint8), "state": np.full(3, t + 1, np.float32)}
        rec.add(np.array([t, -t], np.float32), obs, reward=float(t) + 0.5, discount=1.0)
    return rec.episode()


def test_recorder_follows_the_row_zero_conventions() -> None:
    ep = _recorded(steps=4)
    assert validate_episode(ep) == 5
    assert ep["image"].shape == (5, 8, 8, 3) and ep["image"].dtype == np.uint8
    np.testing.assert_array_equal(ep["action"][0], [0, 0])
    np.testing.assert_array_equal(ep["action"][3], [2, -2])  # action[t] led to obs[t]
    np.testing.assert_array_equal(ep["reward"], [0, 0.5, 1.5, 2.5, 3.5])
    np.testing.assert_array_equal(ep["discount"], np.ones(5))
    np.testing.assert_array_equal(ep["state"][:, 0], [0, 1, 2, 3, 4])


def test_write_read_round_trip(tmp_path: Path) -> None:
    ep = _recorded()
    path = write_episode(tmp_path / "demos", ep)
    assert length_from_name(path) == 5
    assert path.name.endswith("-5.npz") and len(path.name.split("-")) == 3
    back = read_episode(path)
    assert set(back) == set(ep)
    for k in ep:
        np.testing.assert_array_equal(back[k], ep[k])
        assert back[k].dtype == ep[k].dtype
    write_episode(tmp_path / "demos", _recorded(steps=2))
    assert [length_from_name(p) for p in episode_paths(tmp_path / "demos")] in ([5, 3], [3, 5])
    assert len(load_episodes(tmp_path / "demos")) == 2
    assert not list((tmp_path / "demos").glob(".*tmp"))  # no temp files left behind


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("state"), "missing keys"),
        (lambda e: e.__setitem__("image", e["image"].astype(np.float32)), "image must be uint8"),
        (lambda e: e.__setitem__("reward", e["reward"][:-1]), "reward must be float32"),
        (lambda e: e["action"].__setitem__(0, 1.0), "row 0"),
        (lambda e: e["discount"].__setitem__(0, 0.0), "row 0"),
    ],
)
def test_malformed_episodes_are_rejected_with_the_reason(change, message: str, tmp_path: Path) -> None:
    ep = _recorded()
    change(ep)
    with pytest.raises(EpisodeFormatError, match=message):
        write_episode(tmp_path, ep)


def test_name_length_mismatch_and_empty_directory(tmp_path: Path) -> None:
    path = write_episode(tmp_path / "a", _recorded(steps=4))
    wrong = path.with_name(path.name.replace("-5.npz", "-7.npz"))
    path.rename(wrong)
    with pytest.raises(EpisodeFormatError, match="name says length 7"):
        read_episode(wrong)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no episode files"):
        load_episodes(tmp_path / "empty")


def test_collect_demos_writes_expert_episodes(tmp_path: Path) -> None:
    from training.demos.collect import collect_demos

    results = collect_demos("cartpole_swingup", 1, tmp_path, seed=5, image_size=16)
    (r,) = results
    ep = read_episode(r.path)
    assert ep["image"].shape == (501, 16, 16, 3) and ep["state"].shape == (501, 5)
    assert float(ep["reward"].sum()) == pytest.approx(r.ret, rel=1e-5)
    assert np.all(np.abs(ep["action"]) <= 1.0)
    summary = json.loads((tmp_path / "expert_returns.json").read_text())
    assert summary["seeds"] == [5] and summary["mean_return"] == pytest.approx(r.ret)


def test_expert_returns_without_frames_match_the_recorded_episode(tmp_path: Path) -> None:
    from training.demos.collect import collect_demos, expert_returns

    (recorded,) = collect_demos("point_mass_easy", 1, tmp_path, seed=7, image_size=16)
    returns = expert_returns("point_mass_easy", 2, seed=6)
    assert returns[1] == pytest.approx(recorded.ret, rel=1e-9)  # seed 7, rendered or not
    assert returns[0] != pytest.approx(returns[1])  # another start state, another return
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        expert_returns("point_mass_easy", 0)
