"""Sequence replay of agent and expert episodes stored as one ``.npz`` per episode.

File format (shared with the demonstration writers): ``image`` uint8 (T+1, H, W, 3) or
(T+1, H, W), ``action`` float32 (T+1, A) with row 0 zero (``action[t]`` led to ``image[t]``),
``reward`` float32 (T+1) with row 0 = 0, ``discount`` float32 (T+1) with row 0 = 1, optional
``state`` float32 (T+1, S). Actions are in [-1, 1]. Files are read and written by
training/demos/episodes.py (the one implementation of the format); this module keeps them in
memory and samples windows. Images of another size are resized on load (INTER_AREA), so
64x64 demonstrations can feed a 32x32 CPU preset.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from training.demos.episodes import episode_paths, read_episode

log = logging.getLogger(__name__)

Episode = dict[str, np.ndarray]
REQUIRED = ("image", "action", "reward", "discount")


class EpisodeFormatError(ValueError):
    """An episode does not fit this model (channels, action range); the message names it."""


def fit_images(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, size, size, C): INTER_AREA resize when the size differs."""
    if images.shape[1:3] == (size, size):
        return np.ascontiguousarray(images)
    import cv2

    out = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in images])
    return out.reshape(*out.shape[:3], images.shape[-1])


def normalise_episode(
    ep: dict[str, Any], image_size: int, channels: int, where: str = "episode", with_state: bool = False
) -> Episode:
    """Check an episode against the format and bring its images to (T+1, size, size, channels)."""
    for key in (*REQUIRED, "state") if with_state else REQUIRED:
        if key not in ep:
            raise EpisodeFormatError(f"{where}: missing key {key!r} (has {sorted(ep)})")
    image = np.asarray(ep["image"])
    if image.dtype != np.uint8:
        raise EpisodeFormatError(f"{where}: 'image' must be uint8, got {image.dtype}")
    if image.ndim == 3:
        image = image[..., None]
    if image.ndim != 4 or image.shape[-1] not in (1, 3):
        raise EpisodeFormatError(f"{where}: 'image' must be (T+1, H, W[, 1|3]), got {image.shape}")
    if image.shape[-1] != channels:
        raise EpisodeFormatError(f"{where}: images have {image.shape[-1]} channel(s), the model {channels}")
    n = image.shape[0]
    action = np.asarray(ep["action"], np.float32)
    if action.ndim != 2 or action.shape[0] != n:
        raise EpisodeFormatError(f"{where}: 'action' must be ({n}, A), got {action.shape}")
    if not np.all(np.isfinite(action)) or np.abs(action).max(initial=0.0) > 1.0 + 1e-5:
        raise EpisodeFormatError(f"{where}: actions must be finite and normalised to [-1, 1]")
    out: Episode = {"action": action}
    for key in ("reward", "discount"):
        value = np.asarray(ep[key], np.float32)
        if value.shape != (n,):
            raise EpisodeFormatError(f"{where}: {key!r} must be ({n},), got {value.shape}")
        out[key] = value
    out["image"] = fit_images(image, image_size)
    if "state" in ep:
        out["state"] = np.asarray(ep["state"], np.float32)
        if with_state and out["state"].shape[:1] != (n,):
            raise EpisodeFormatError(f"{where}: 'state' must be ({n}, S), got {out['state'].shape}")
    return out


class SequenceReplay:
    """Episodes in memory; uniform episode then uniform window, as the authors sample."""

    def __init__(
        self,
        image_size: int,
        channels: int,
        seed: int = 0,
        start_fraction: float = 0.0,
        with_state: bool = False,
    ) -> None:
        """``start_fraction``: share of windows forced to begin at the episode's first frame.

        Uniform windows almost never begin there (1 in 486 for 500-step episodes and length
        16), so the filter rarely learns from the zero state and zero previous action that
        every deployment starts from (DEV; 0 = the authors' uniform sampling).
        ``with_state``: every episode must carry the privileged ``state``, and windows include
        it (the DEV state head of the world model trains on it).
        """
        if not 0.0 <= start_fraction <= 1.0:
            raise ValueError(f"start_fraction must be in [0, 1], got {start_fraction}")
        self.image_size, self.channels = image_size, channels
        self.episodes: list[Episode] = []
        self.rng = np.random.default_rng(seed)
        self.start_fraction = float(start_fraction)
        self.with_state = with_state
        self.keys = (*REQUIRED, "state") if with_state else REQUIRED

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def steps(self) -> int:
        return sum(len(ep["action"]) - 1 for ep in self.episodes)

    def add(self, episode: dict[str, Any]) -> None:
        self.episodes.append(
            normalise_episode(episode, self.image_size, self.channels, with_state=self.with_state)
        )

    def load_dir(self, directory: Path | str) -> int:
        """Load every ``*.npz`` under ``directory``; returns how many episodes were added."""
        files = episode_paths(directory)
        if not files:
            raise FileNotFoundError(f"no episode files (*.npz) in {directory}")
        for f in files:
            ep = normalise_episode(read_episode(f), self.image_size, self.channels, str(f), self.with_state)
            self.episodes.append(ep)
        return len(files)

    def sample(self, batch: int, length: int) -> dict[str, np.ndarray]:
        """(batch, length, ...) windows; episodes shorter than ``length`` are never chosen."""
        usable = [ep for ep in self.episodes if len(ep["action"]) >= length]
        if not usable:
            raise ValueError(f"no episode has {length} steps (have {len(self.episodes)} episodes)")
        picks = self.rng.integers(0, len(usable), batch)
        out: dict[str, list[np.ndarray]] = {k: [] for k in self.keys}
        for i in picks:
            ep = usable[i]
            start = int(self.rng.integers(0, len(ep["action"]) - length + 1))
            if self.start_fraction and self.rng.random() < self.start_fraction:
                start = 0
            for k in self.keys:
                out[k].append(ep[k][start : start + length])
        return {k: np.stack(v) for k, v in out.items()}


def union_sample(
    replays: list[SequenceReplay],
    batch: int,
    length: int,
    rng: np.random.Generator,
    shares: list[float] | None = None,
) -> dict[str, np.ndarray]:
    """Sample from the union B_E ∪ B_π; ``source`` (batch,) names each window's replay (its index).

    By default each window comes from a replay in proportion to its episodes (the authors'
    sampling over the merged directory). ``shares`` fixes the fraction per replay instead
    (DEV); empty replays give their share to the others.
    """
    counts = np.array([len(r) for r in replays], dtype=float)
    if counts.sum() == 0:
        raise ValueError("all replay buffers are empty")
    if shares is not None:
        if len(shares) != len(replays) or min(shares) < 0 or sum(shares) <= 0:
            raise ValueError(f"shares must be {len(replays)} non-negative numbers, got {shares}")
        counts = np.where(counts > 0, np.asarray(shares, float), 0.0)
        if counts.sum() == 0:
            raise ValueError(f"shares {shares} put every window in an empty replay")
    per = rng.multinomial(batch, counts / counts.sum())
    parts = [
        (i, r.sample(int(n), length)) for i, (r, n) in enumerate(zip(replays, per, strict=True)) if n > 0
    ]
    out = {k: np.concatenate([p[k] for _, p in parts]) for k in parts[0][1]}
    out["source"] = np.concatenate([np.full(len(p["action"]), i) for i, p in parts])
    return out
