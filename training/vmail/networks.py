"""Image encoder/decoder and dense heads of the V-MAIL world model.

Sizes follow the authors' DreamerV1 networks (4x4 stride-2 VALID convolutions, a dense layer
into a 1x1 map then stride-2 transposed convolutions). The transposed-conv kernel sizes are
chosen per image size so that the decoder lands exactly on the input size; 64 and 128 are the
authors' kernels, 32 and 48 are for the CPU presets.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# image size -> transposed-conv kernel sizes (stride 2, no padding), one per layer
DECODER_KERNELS: dict[int, tuple[int, ...]] = {
    32: (6, 4, 6),  # 1 -> 6 -> 14 -> 32
    48: (4, 4, 4, 6),  # 1 -> 4 -> 10 -> 22 -> 48
    64: (5, 5, 6, 6),  # 1 -> 5 -> 13 -> 30 -> 64 (authors)
    128: (5, 5, 5, 6, 6),  # 1 -> 5 -> 13 -> 29 -> 62 -> 128 (authors, "Large")
}


def _layers_for(size: int) -> int:
    if size not in DECODER_KERNELS:
        raise ValueError(f"image size {size} is not supported; use one of {sorted(DECODER_KERNELS)}")
    return len(DECODER_KERNELS[size])


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, C) -> float (..., C, H, W) in [-0.5, 0.5] (the authors' scaling)."""
    x = images.to(torch.float32) / 255.0 - 0.5
    return x.movedim(-1, -3)


class ConvEncoder(nn.Module):
    """(..., C, H, W) float images -> (..., embed) features."""

    def __init__(self, size: int, channels: int = 3, depth: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = channels
        for i in range(_layers_for(size)):
            out_ch = depth * min(2**i, 8)
            layers += [nn.Conv2d(in_ch, out_ch, 4, stride=2), nn.ReLU()]
            in_ch = out_ch
        self.net = nn.Sequential(*layers)
        with torch.no_grad():
            self.embed_dim = int(self.net(torch.zeros(1, channels, size, size)).numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-3]
        y = self.net(x.reshape(-1, *x.shape[-3:]))
        return y.reshape(*lead, self.embed_dim)


class ConvDecoder(nn.Module):
    """(..., feat) -> (..., C, H, W) mean image of a unit-variance Gaussian.

    The first transposed convolution sees a 1x1 map, so it is exactly a linear map to a kxk
    map; it is computed as one (a matrix product) because oneDNN's transposed convolution on a
    1x1 input was measured 17x slower (3.16 s vs 0.19 s forward+backward, 500 images, 1 thread).
    """

    def __init__(self, feat_dim: int, size: int, channels: int = 3, depth: int = 32) -> None:
        super().__init__()
        _layers_for(size)  # validates the size
        kernels = DECODER_KERNELS[size]
        self.size, self.channels, self.width = size, channels, 32 * depth
        self.fc = nn.Linear(feat_dim, self.width)
        outs = [
            channels if i == len(kernels) - 1 else max(depth, (4 * depth) >> i) for i in range(len(kernels))
        ]
        self.first_shape = (outs[0], kernels[0], kernels[0])
        self.first = nn.Linear(self.width, outs[0] * kernels[0] ** 2)
        layers: list[nn.Module] = []
        for i in range(1, len(kernels)):
            layers += [nn.ReLU(), nn.ConvTranspose2d(outs[i - 1], outs[i], kernels[i], stride=2)]
        self.net = nn.Sequential(*layers)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        lead = feat.shape[:-1]
        x = self.first(self.fc(feat)).reshape(-1, *self.first_shape)
        y = self.net(x)
        return y.reshape(*lead, self.channels, self.size, self.size)


class SpatialBroadcastDecoder(nn.Module):
    """(..., feat) -> (..., C, H, W): the feature projected and tiled over the image (DEV).

    Each pixel sees the feature plus its own coordinates (and a learned per-pixel embedding for
    the fixed background), so "draw a dot at (x, y)" is a per-pixel comparison instead of a map
    that transposed convolutions build up from a 1x1 start (Watters et al., 2019). Measured in
    ``benchmarks/vmail_decoder_drawing.py`` (64 px, batch 64): from point_mass's true position its
    largest change lands on the point in 94% of frames after 8k updates; the ConvDecoder's in
    67% after 10k.
    """

    def __init__(self, feat_dim: int, size: int, channels: int = 3, width: int = 64) -> None:
        super().__init__()
        self.size, self.channels = size, channels
        self.project = nn.Linear(feat_dim, width)
        grid = torch.linspace(-1.0, 1.0, size)
        rows, cols = torch.meshgrid(grid, grid, indexing="ij")
        self.register_buffer("coords", torch.stack([cols, rows])[None])
        self.coord_embed = nn.Conv2d(2, width, 1)
        self.pixel_embed = nn.Parameter(torch.zeros(width, size, size))
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(width, width, 1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, channels, 1),
        )
        self.background = nn.Parameter(torch.zeros(channels, size, size))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        lead = feat.shape[:-1]
        tiled = self.project(feat).reshape(-1, self.project.out_features, 1, 1)
        x = tiled + self.coord_embed(self.coords) + self.pixel_embed
        y = self.net(x) + self.background
        return y.reshape(*lead, self.channels, self.size, self.size)


DECODERS = ("conv", "broadcast")


def build_image_decoder(kind: str, feat_dim: int, size: int, channels: int, width: int) -> nn.Module:
    """``conv`` (the paper's ConvDecoder, ``width`` = its depth) or DEV ``broadcast``."""
    if kind not in DECODERS:
        raise ValueError(f"model.decoder must be one of {DECODERS}, got {kind!r}")
    if kind == "conv":
        return ConvDecoder(feat_dim, size, channels, width)
    _layers_for(size)  # the same sizes as the encoder
    return SpatialBroadcastDecoder(feat_dim, size, channels, width)


class DenseHead(nn.Module):
    """MLP with ELU hidden layers (the authors' DenseDecoder/ActionDecoder bodies)."""

    def __init__(self, in_dim: int, out_dim: int, layers: int, units: int) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        d = in_dim
        for _ in range(layers):
            mods += [nn.Linear(d, units), nn.ELU()]
            d = units
        mods.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PrivilegedStateHead(nn.Module):
    """Predicts the simulator's state from the latent, in units of the demos' spread (DEV).

    Training-only: it shapes what the latent keeps (a one-pixel point mass costs the image
    likelihood almost nothing to ignore) and is never exported. The normaliser is fixed once
    from the expert's states and saved with the weights, so a resumed run keeps its targets.
    ``angle_dims`` (unlimited joint angles) are predicted as (cos, sin): the unwrapped angle
    is not in the image, and a head asked for it swamps the model loss (README, thirteenth round).
    """

    def __init__(self, feat_dim: int, state_dim: int, units: int, angle_dims: tuple[int, ...] = ()) -> None:
        super().__init__()
        angles = tuple(int(i) for i in angle_dims)
        if any(not 0 <= i < state_dim for i in angles) or len(set(angles)) != len(angles):
            raise ValueError(f"angle_dims {angle_dims} must be distinct indices below state_dim {state_dim}")
        self.angle_dims = angles
        self.net = DenseHead(feat_dim, state_dim + len(angles), 2, units)
        self.register_buffer("mean", torch.zeros(state_dim))
        self.register_buffer("scale", torch.ones(state_dim))

    def set_normaliser(self, states: np.ndarray) -> None:
        """Mean and spread of ``states`` (N, S); tiny spreads are lifted so no target explodes."""
        states = np.asarray(states, np.float64).reshape(-1, self.mean.shape[0])
        spread = states.std(0)
        spread = np.maximum(spread, max(0.1 * float(np.median(spread)), 1e-2))
        mean = states.mean(0)
        angles = list(self.angle_dims)
        mean[angles], spread[angles] = 0.0, 1.0  # replaced by (cos, sin) in targets()
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.scale.copy_(torch.as_tensor(spread, dtype=torch.float32))

    def targets(self, states: torch.Tensor) -> torch.Tensor:
        """Normalised states; each angle dimension becomes its cosine, its sine goes last."""
        x = (states.float() - self.mean) / self.scale
        if not self.angle_dims:
            return x
        dims = list(self.angle_dims)
        angles = states.float()[..., dims]
        x[..., dims] = torch.cos(angles)  # x is a fresh tensor: no copy needed
        return torch.cat([x, torch.sin(angles)], -1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat)
