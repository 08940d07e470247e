"""DrQ-style random shift: pad by replicating the border, then crop back at a random offset.

Unlike the A2D replay augmentation (one crop per minibatch, resized, with speckle), DrQ draws
an independent integer shift per sample and never rescales, so the augmentation is a pure
translation of up to ``pad`` pixels; all frames of one sample's stack move together, keeping
the motion between them intact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(
    images: torch.Tensor, pad: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(N, K, H, W, C) uint8 or 0-255 float frames -> float32 (same shape), each sample shifted."""
    if images.ndim != 5:
        raise ValueError(f"random_shift expects (N, K, H, W, C) frames, got shape {tuple(images.shape)}")
    x = images.to(torch.float32)
    if pad <= 0:
        return x
    n, k, h, w, c = x.shape
    planes = x.permute(0, 1, 4, 2, 3).reshape(n, k * c, h, w)
    padded = F.pad(planes, (pad, pad, pad, pad), mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator)
    rows = offsets[0][:, None] + torch.arange(h)  # (N, H)
    cols = offsets[1][:, None] + torch.arange(w)  # (N, W)
    idx = torch.arange(n)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]  # (N, H, W, K*C)
    return out.reshape(n, h, w, k, c).permute(0, 3, 1, 2, 4).contiguous()
