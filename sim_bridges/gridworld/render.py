"""Top-down camera images: precomputed tiles, batched compositing, and fast quantised noise.

Tiles are drawn once at 3x supersampling (18 px) and mean-downsampled to 6 px, as the
reference does; compositing a frame is then a gather of a per-layout background plus one
agent tile. The camera noise is N(0, 0.05^2) on the [0, 1] image, clipped, then quantised to
uint8. For an integer clean pixel c that equals clip(c + round(12.75 z), 0, 255), so we
sample the integer q = round(12.75 z) directly from its exact pmf by inverse-CDF lookup of
16 random bits. The pmf is exact up to the 2^-16 probability grid (|q| <= 55, i.e. 4.3
sigma; the mass beyond, 1.5e-5, is folded into the extreme entries). It is ~10x faster than
drawing float Gaussians.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim_bridges.gridworld.layouts import BUTTON, FLOOR, GOAL, HAZARD, NUM_CODES, TILE, WALL, GridSpec

SUPERSAMPLE = 3
NOISE_STD = 0.05
CHUNK = 32  # copies per noise pass

COLORS: dict[int, tuple[int, int, int]] = {
    FLOOR: (214, 237, 240),
    WALL: (100, 100, 100),
    GOAL: (0, 255, 0),
    HAZARD: (0, 0, 204),
    BUTTON: (255, 0, 255),
}
GRID_LINE = (100, 100, 100)
AGENT = (255, 0, 0)
# Agent triangle in tile coordinates (x right, y down), pointing +y (the reference's fixed
# orientation).
AGENT_TRIANGLE = ((0.19, 0.12), (0.81, 0.12), (0.50, 0.87))


def _hires_tile(code: int, agent: bool) -> np.ndarray:
    """One tile at supersampled resolution, float RGB."""
    n = TILE * SUPERSAMPLE
    img = np.empty((n, n, 3), np.float64)
    img[:] = COLORS[code]
    if code == FLOOR:  # grid lines on the top and left edge, 1/32 of a tile wide
        centres = (np.arange(n) + 0.5) / n
        line = centres < 1 / 32
        img[line, :] = GRID_LINE
        img[:, line] = GRID_LINE
    if agent:
        centres = (np.arange(n) + 0.5) / n
        px, py = np.meshgrid(centres, centres)  # px varies along columns (x), py along rows (y)
        (x0, y0), (x1, y1), (x2, y2) = AGENT_TRIANGLE

        def side(ax: float, ay: float, bx: float, by: float) -> np.ndarray:
            return (bx - ax) * (py - ay) - (by - ay) * (px - ax)

        s0, s1, s2 = side(x0, y0, x1, y1), side(x1, y1, x2, y2), side(x2, y2, x0, y0)
        inside = ((s0 >= 0) & (s1 >= 0) & (s2 >= 0)) | ((s0 <= 0) & (s1 <= 0) & (s2 <= 0))
        img[inside] = AGENT
    return img


def make_tile(code: int, agent: bool = False) -> np.ndarray:
    """A TILE x TILE x 3 uint8 tile: supersampled, block-averaged and stored as uint8 (floor)."""
    hi = _hires_tile(code, agent)
    lo = hi.reshape(TILE, SUPERSAMPLE, TILE, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.floor(lo + 1e-9).astype(np.uint8)


TILES = np.stack([make_tile(c) for c in range(NUM_CODES)])
AGENT_TILES = np.stack([make_tile(c, agent=True) for c in range(NUM_CODES)])
AGENT_DELTAS = AGENT_TILES.astype(np.int16) - TILES.astype(np.int16)


def compose(codes: np.ndarray, size: int) -> np.ndarray:
    """An (H, W, 3) uint8 image from a (size*size,) code map (flat index y*size + x)."""
    tiles = TILES[codes.reshape(size, size)]  # (y, x, ty, tx, 3)
    return tiles.transpose(0, 2, 1, 3, 4).reshape(size * TILE, size * TILE, 3)


def quantised_noise_table(std: float = NOISE_STD, bits: int = 16) -> np.ndarray:
    """Inverse-CDF table mapping a uniform `bits`-bit integer to q = round(255 * std * z)."""
    scale = 255.0 * std
    kmax = math.ceil(8 * scale)
    ks = np.arange(-kmax, kmax + 1)
    cdf = np.array([0.5 * (1 + math.erf((k + 0.5) / scale / math.sqrt(2))) for k in ks])
    u = (np.arange(2**bits) + 0.5) / 2**bits
    return ks[np.searchsorted(cdf, u)].astype(np.int16)


NOISE_TABLE = quantised_noise_table()


class Renderer:
    """Composites camera images for a batch, with optional per-env reproducible noise."""

    def __init__(self, spec: GridSpec, noise: bool = True) -> None:
        self.spec = spec
        self.noise = noise
        L = len(spec.layouts)
        # Backgrounds indexed by layout*2 + lit: what the camera sees, minus the agent.
        self.visible = np.stack([spec.visible_map(k, lit) for k in range(L) for lit in (False, True)])
        self.backgrounds = np.stack([compose(v, spec.size) for v in self.visible]).astype(np.int16)
        self.privileged = np.stack([compose(spec.code_map(k), spec.size) for k in range(L)])
        self.pixels = int(np.prod(spec.image_shape))
        self.words = -(-self.pixels // 4)  # uint64 words of random bits per frame (4 x 16 bits)

    def clean(self, layout: np.ndarray, lit: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """(n, H, W, 3) uint8 noiseless camera images."""
        return self._compose(layout, lit, pos, None)

    def render(
        self, layout: np.ndarray, lit: np.ndarray, pos: np.ndarray, bitgens: Sequence[np.random.BitGenerator]
    ) -> np.ndarray:
        """(n, H, W, 3) uint8 camera images; bitgens[i] supplies env i's noise bits."""
        return self._compose(layout, lit, pos, bitgens if self.noise else None)

    def _compose(
        self,
        layout: np.ndarray,
        lit: np.ndarray,
        pos: np.ndarray,
        bitgens: Sequence[np.random.BitGenerator] | None,
    ) -> np.ndarray:
        # Works in chunks of CHUNK copies so every pass stays in cache (about 2.5x faster
        # than whole-batch passes at N=256): noise + background + agent, clip, cast.
        n, s, shape = len(layout), self.spec.size, self.spec.image_shape
        key = layout * 2 + lit
        under = self.visible[key, pos]
        agent = AGENT_DELTAS[under]  # (n, TILE, TILE, 3): agent tile minus the tile it covers
        ys, xs = np.divmod(pos, s)
        out = np.empty((n, *shape), np.uint8)
        buf = np.empty((min(n, CHUNK), *shape), np.int16)
        background = np.empty_like(buf)
        raw = np.empty((min(n, CHUNK), self.words), np.uint64)
        for lo in range(0, n, CHUNK):
            hi = min(lo + CHUNK, n)
            m = hi - lo
            img = buf[:m]
            if bitgens is None:
                np.take(self.backgrounds, key[lo:hi], axis=0, out=img)
            else:
                for j in range(m):
                    raw[j] = bitgens[lo + j].random_raw(self.words)
                bits = raw[:m].view(np.uint16)[:, : self.pixels]
                np.take(NOISE_TABLE, bits, out=img.reshape(m, self.pixels), mode="clip")
                np.take(self.backgrounds, key[lo:hi], axis=0, out=background[:m])
                img += background[:m]
            cells = img.reshape(m, s, TILE, s, TILE, 3)
            cells[np.arange(m), ys[lo:hi], :, xs[lo:hi], :, :] += agent[lo:hi]
            if bitgens is not None:
                np.clip(img, 0, 255, out=img)
            out[lo:hi] = img
        return out

    def render_privileged(self, layout: int, pos: int) -> np.ndarray:
        """Everything visible (goal, hazard, button, agent), no noise."""
        img = self.privileged[layout].copy()
        s = self.spec.size
        under = self.spec.code_map(layout)[pos]
        y, x = divmod(pos, s)
        img[y * TILE : (y + 1) * TILE, x * TILE : (x + 1) * TILE] = AGENT_TILES[under]
        return img
