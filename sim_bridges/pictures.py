"""Side-by-side pictures of what the robot's camera sees and what the simulator knows.

Used by benchmarks/env_pictures.py to document every environment; works for any env that
follows the AsymmetricEnv protocol (rgb8 or mono8 camera, plus render_privileged()).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim_bridges.api import IMAGE


def _as_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return img[:, :, :3].astype(np.uint8)


def upscale(img: np.ndarray, height: int) -> np.ndarray:
    """Nearest-neighbour upscale by an integer factor to at least `height` pixels tall."""
    factor = max(1, -(-height // img.shape[0]))
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def side_by_side(env: Any, seed: int = 0, height: int = 252, actions: list[Any] | None = None) -> np.ndarray:
    """RGB uint8 figure: the camera image (left) next to render_privileged() (right).

    The env is reset with `seed` and then given `actions` (if any), so pictures are reproducible.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    obs, _ = env.reset(seed=seed)
    for a in actions or []:
        obs, *_ = env.step(a)
    camera = upscale(_as_rgb(obs[IMAGE]), height)
    privileged = upscale(_as_rgb(env.render_privileged()), height)
    name = getattr(getattr(env, "info", None), "name", type(env).__name__)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.4), dpi=100)
    raw_shape = "x".join(str(d) for d in np.shape(obs[IMAGE]))
    for ax, img, title in (
        (axes[0], camera, f"camera ({raw_shape})"),
        (axes[1], privileged, "privileged (render_privileged)"),
    ):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.suptitle(name)
    fig.tight_layout()
    fig.canvas.draw()
    picture = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
    plt.close(fig)
    return picture
