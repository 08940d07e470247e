"""Tiny fixed-weight ONNX policies for the ROS tests (exported with policies.export)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from policies.export import export_policy
from policies.metadata import PolicyMetadata


class FixedLinearPolicy(nn.Module):
    """Deterministic policy on the raw pixels: ``sin`` of a large seeded random projection,
    so small image changes (the agent moving) change the action: a non-trivial closed loop
    whose returns differ between episodes, yet reproducible for the same seed."""

    def __init__(
        self, frame_window: int, height: int, width: int, channels: int, actions: int, seed: int
    ) -> None:
        super().__init__()
        self.frame_window = frame_window
        generator = torch.Generator().manual_seed(seed)
        inputs = frame_window * height * width * channels
        self.weight = nn.Parameter(torch.randn(inputs, actions, generator=generator) / inputs**0.5)
        self.bias = nn.Parameter(torch.randn(actions, generator=generator) * 0.1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32).flatten(1) / 255.0
        return torch.sin((x @ self.weight) * 40.0) + self.bias


def export_fixed_policy(
    path: Path,
    encoding: str = "rgb8",
    height: int = 42,
    width: int = 42,
    frame_window: int = 1,
    actions: int = 4,
    discrete: bool = True,
    seed: int = 0,
    message: dict | None = None,
) -> Path:
    channels = 3 if encoding == "rgb8" else 1
    action: dict = {"kind": "discrete" if discrete else "continuous", "size": actions}
    if not discrete:
        action.update(low=[-1.0] * actions, high=[1.0] * actions)
    if message is not None:
        action["message"] = message
    meta = PolicyMetadata.from_dict(
        {
            "observation": {
                "kind": "image",
                "encoding": encoding,
                "height": height,
                "width": width,
                "frame_window": frame_window,
            },
            "action": action,
            "control_rate_hz": 10.0,
        }
    )
    module = FixedLinearPolicy(frame_window, height, width, channels, actions, seed)
    return export_policy(module, meta, path)
