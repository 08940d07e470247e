"""Episode files shared by the demonstrations, V-MAIL's replay and the visual baselines.

One ``.npz`` per episode, in V-MAIL's layout (specs/vmail.md section 4), so that its replay
and step counting work unchanged:

* ``image`` uint8 [T+1, H, W, 3], ``state`` float32 [T+1, S]: observation t in row t;
* ``action`` float32 [T+1, A]: row t is the action that *led to* observation t, row 0 is zero;
* ``reward`` float32 [T+1]: reward of that transition, row 0 is 0;
* ``discount`` float32 [T+1]: 0 after a true termination, else 1; row 0 is 1.

The name is ``{YYYYmmddTHHMMSS}-{uuid}-{T+1}.npz``; the length in the name lets replay count
steps without opening files. Files are written atomically (temporary name, then rename), so a
reader globbing the directory never sees a half-written episode.
"""

from __future__ import annotations

import datetime
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

import numpy as np

REQUIRED_KEYS: tuple[str, ...] = ("image", "action", "reward", "discount", "state")
_NAME = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{32}-(\d+)\.npz$")


class EpisodeFormatError(ValueError):
    """An episode file or array set does not follow the layout above."""


def validate_episode(episode: Mapping[str, np.ndarray], source: str = "episode") -> int:
    """Check keys, dtypes, shapes and the row-0 conventions; return the length T+1."""
    missing = [k for k in REQUIRED_KEYS if k not in episode]
    if missing:
        raise EpisodeFormatError(f"{source}: missing keys {missing} (need {list(REQUIRED_KEYS)})")
    image, action = episode["image"], episode["action"]
    if image.dtype != np.uint8 or image.ndim != 4 or image.shape[-1] != 3:
        raise EpisodeFormatError(
            f"{source}: image must be uint8 [T+1,H,W,3], got {image.dtype} {image.shape}"
        )
    n = image.shape[0]
    if n < 2:
        raise EpisodeFormatError(f"{source}: an episode needs at least one step (T+1 >= 2), got {n}")
    expected = {"action": 2, "reward": 1, "discount": 1, "state": 2}
    for key, ndim in expected.items():
        arr = episode[key]
        if arr.dtype != np.float32 or arr.ndim != ndim or arr.shape[0] != n:
            want = "[T+1]" if ndim == 1 else "[T+1, D]"
            raise EpisodeFormatError(
                f"{source}: {key} must be float32 {want} with T+1={n}, got {arr.dtype} {arr.shape}"
            )
    if np.any(action[0] != 0) or episode["reward"][0] != 0 or episode["discount"][0] != 1:
        raise EpisodeFormatError(f"{source}: row 0 must have action 0, reward 0 and discount 1")
    return n


def episode_name(length: int, when: datetime.datetime | None = None) -> str:
    """``{YYYYmmddTHHMMSS}-{uuid}-{length}.npz``."""
    stamp = (when or datetime.datetime.now()).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex}-{length}.npz"


def length_from_name(path: Path | str) -> int:
    """The T+1 encoded in an episode file name."""
    match = _NAME.match(Path(path).name)
    if not match:
        raise EpisodeFormatError(f"{path}: not an episode file name (YYYYmmddTHHMMSS-<uuid hex>-<len>.npz)")
    return int(match.group(1))


def write_episode(directory: Path | str, episode: Mapping[str, np.ndarray]) -> Path:
    """Validate and save one episode (compressed) under ``directory``; returns its path."""
    n = validate_episode(episode)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / episode_name(n)
    tmp = directory / f".{path.name}.tmp"
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **{k: np.asarray(v) for k, v in episode.items()})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_episode(path: Path | str) -> dict[str, np.ndarray]:
    """Load and validate one episode file (no pickled objects allowed)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            episode = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise EpisodeFormatError(f"{path}: unreadable episode file: {exc}") from exc
    n = validate_episode(episode, str(path))
    if _NAME.match(path.name) and length_from_name(path) != n:
        raise EpisodeFormatError(f"{path}: name says length {length_from_name(path)}, arrays have {n}")
    return episode


def episode_paths(directory: Path | str) -> list[Path]:
    """Episode files in a directory, oldest name first."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"episode directory not found: {directory}")
    return sorted(p for p in directory.glob("*.npz") if _NAME.match(p.name))


def load_episodes(directory: Path | str) -> list[dict[str, np.ndarray]]:
    """Every episode in a directory; an empty directory is an error (nothing to learn from)."""
    paths = episode_paths(directory)
    if not paths:
        raise FileNotFoundError(f"no episode files (*.npz) in {directory}")
    return [read_episode(p) for p in paths]


class EpisodeRecorder:
    """Accumulates one episode from an environment loop in the file layout above."""

    def __init__(self) -> None:
        self._rows: dict[str, list[np.ndarray]] = {}

    def start(self, obs: Mapping[str, np.ndarray], action_dim: int) -> None:
        """The first observation (row 0: zero action, reward 0, discount 1)."""
        self._rows = {"image": [], "state": [], "action": [], "reward": [], "discount": []}
        self._append(obs, np.zeros(action_dim, np.float32), 0.0, 1.0)

    def add(self, action: np.ndarray, obs: Mapping[str, np.ndarray], reward: float, discount: float) -> None:
        """One transition: ``action`` led to ``obs`` with ``reward``."""
        if not self._rows:
            raise RuntimeError("EpisodeRecorder.add before start")
        self._append(obs, np.asarray(action, np.float32).ravel(), reward, discount)

    def __len__(self) -> int:
        return len(self._rows.get("image", []))

    def episode(self) -> dict[str, np.ndarray]:
        """The arrays recorded so far, stacked."""
        return {
            "image": np.stack(self._rows["image"]).astype(np.uint8),
            "state": np.stack(self._rows["state"]).astype(np.float32),
            "action": np.stack(self._rows["action"]).astype(np.float32),
            "reward": np.asarray(self._rows["reward"], np.float32),
            "discount": np.asarray(self._rows["discount"], np.float32),
        }

    def _append(
        self, obs: Mapping[str, np.ndarray], action: np.ndarray, reward: float, discount: float
    ) -> None:
        self._rows["image"].append(np.asarray(obs["image"]))
        self._rows["state"].append(np.asarray(obs["state"], np.float32))
        self._rows["action"].append(action)
        self._rows["reward"].append(float(reward))
        self._rows["discount"].append(float(discount))
