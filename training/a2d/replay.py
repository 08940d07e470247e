"""FIFO replay buffer of (expert input, trainee input) pairs for the AIL/projection step (eq. 18).

Only inputs are stored, never expert outputs: the projection target is the expert with its
*current* parameters evaluated on the stored states, as in the reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ReplayBuffer:
    """Fixed-capacity FIFO over named tensors (e.g. "state" float32, "image" uint8 windows)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self.data: dict[str, torch.Tensor] = {}
        self.ptr = 0
        self.size = 0

    def add(self, batch: dict[str, torch.Tensor]) -> None:
        n = next(iter(batch.values())).shape[0]
        if not self.data:
            self.data = {
                k: torch.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype) for k, v in batch.items()
            }
        if n >= self.capacity:  # keep only the newest `capacity` samples
            batch = {k: v[n - self.capacity :] for k, v in batch.items()}
            n = self.capacity
        idx = (torch.arange(n) + self.ptr) % self.capacity
        for k, v in batch.items():
            self.data[k][idx] = v
        self.ptr = int((self.ptr + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def get(self, key: str, idx: torch.Tensor) -> torch.Tensor:
        return self.data[key][idx]

    def state_dict(self) -> dict:
        return {
            "capacity": self.capacity,
            "ptr": self.ptr,
            "size": self.size,
            "data": {
                k: v[: self.size].clone() if self.size < self.capacity else v for k, v in self.data.items()
            },
        }

    def load_state_dict(self, state: dict) -> None:
        self.capacity = int(state["capacity"])
        self.ptr = int(state["ptr"])
        self.size = int(state["size"])
        self.data = {}
        for k, v in state["data"].items():
            full = torch.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype)
            full[: v.shape[0]] = v
            self.data[k] = full


def augment_images(
    images: torch.Tensor,
    generator: torch.Generator,
    pad: int = 2,
    min_crop: float = 0.818,
    speckle_std: float = 0.025,
) -> torch.Tensor:
    """The reference's image augmentation: random crop of a zero-padded frame, resize back, speckle.

    One crop (size and offset) per minibatch as in the reference, then i.i.d. N(0, speckle_std²)
    noise (in [0, 1] units) clipped to the pixel range. Input uint8 (N, K, H, W, C); output float32
    on the 0–255 scale, which the image networks accept like uint8.
    """
    n, k, h, w, c = images.shape
    x = images.to(torch.float32).permute(0, 1, 4, 2, 3).reshape(n, k * c, h, w)
    x = F.pad(x, (pad, pad, pad, pad))
    ph, pw = h + 2 * pad, w + 2 * pad
    u = torch.rand(4, generator=generator)
    ch = int(ph * (min_crop + (1 - min_crop) * float(u[0])))
    cw = int(pw * (min_crop + (1 - min_crop) * float(u[1])))
    top = int((ph - ch) * float(u[2]))
    left = int((pw - cw) * float(u[3]))
    x = x[:, :, top : top + ch, left : left + cw]
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    if speckle_std > 0:
        x = x + torch.randn(x.shape, generator=generator) * (speckle_std * 255.0)
    x = x.clamp_(0.0, 255.0)
    return x.reshape(n, k, c, h, w).permute(0, 1, 3, 4, 2)
