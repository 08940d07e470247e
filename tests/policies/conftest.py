"""Stand-in policies satisfying the network contract, and exported copies shared by the tests.

Exports take ~1-3 s each with the dynamo exporter, so each model is exported once per
session and the tests share the files (read-only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from policies.export import export_policy
from policies.metadata import (
    ActionSpec,
    MessageMapping,
    ObservationSpec,
    PolicyMetadata,
    Provenance,
    RecurrentStateSpec,
)

torch.set_num_threads(1)


class TinyCNN(nn.Module):
    """uint8 (N, K, H, W, C) -> (N, A); normalises inside (what the graph must do)."""

    def __init__(self, frame_window: int, height: int, width: int, channels: int, actions: int) -> None:
        super().__init__()
        self.frame_window = frame_window
        self.net = nn.Sequential(
            nn.Conv2d(frame_window * channels, 8, 5, stride=2),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, stride=2),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n = self.net(torch.zeros(1, frame_window * channels, height, width)).shape[1]
        self.head = nn.Linear(n, actions)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n, k, h, w, c = images.shape
        x = images.to(torch.float32).div(255.0).permute(0, 1, 4, 2, 3).reshape(n, k * c, h, w)
        return self.head(self.net(x))


class TinyMLP(nn.Module):
    """float32 (N, D) -> (N, A)."""

    def __init__(self, state_dim: int, actions: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(state_dim, 32), nn.Tanh(), nn.Linear(32, actions))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.net(state)


class TinyGRU(nn.Module):
    """Recurrent: (state (N, D), h (N, H)) -> (mean (N, A), h' (N, H))."""

    def __init__(self, state_dim: int, hidden: int, actions: int) -> None:
        super().__init__()
        self.enc = nn.Linear(state_dim, 16)
        self.cell = nn.GRUCell(16, hidden)
        self.head = nn.Linear(hidden, actions)

    def forward(self, state: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.cell(torch.relu(self.enc(state)), h)
        return self.head(h), h


def image_metadata(
    kind: str, encoding: str = "rgb8", size: int = 42, window: int = 2, actions: int = 4
) -> PolicyMetadata:
    if kind == "discrete":
        action = ActionSpec("discrete", actions, message=MessageMapping("std_msgs/Int32"))
    else:
        action = ActionSpec(
            "continuous",
            2,
            low=[-0.5, -1.0],
            high=[0.5, 1.0],
            names=["steer", "throttle"],
            message=MessageMapping(
                "geometry_msgs/Twist", {"linear.x": 1, "angular.z": 0}, {"angular.z": 2.0}
            ),
        )
    return PolicyMetadata(
        observation=ObservationSpec("image", encoding=encoding, height=size, width=size, frame_window=window),
        action=action,
        control_rate_hz=20.0,
        provenance=Provenance(algorithm="a2d", environment="test", seed=3, training_env_steps=1000),
    )


def state_metadata(
    kind: str, dim: int = 7, recurrent: list[RecurrentStateSpec] | None = None
) -> PolicyMetadata:
    if kind == "discrete":
        action = ActionSpec("discrete", 3)
    else:
        action = ActionSpec("continuous", 3, low=[-0.2] * 3, high=[0.2] * 3)
    return PolicyMetadata(
        observation=ObservationSpec("state", state_dim=dim), action=action, recurrent=recurrent or []
    )


@dataclass
class Exported:
    module: nn.Module
    metadata: PolicyMetadata
    path: Path


def _build(name: str) -> tuple[nn.Module, PolicyMetadata]:
    torch.manual_seed(0)
    if name == "cnn-discrete":
        return TinyCNN(2, 42, 42, 3, 4), image_metadata("discrete")
    if name == "cnn-continuous":
        return TinyCNN(2, 42, 42, 1, 2), image_metadata("continuous", encoding="mono8")
    if name == "mlp-discrete":
        return TinyMLP(7, 3), state_metadata("discrete")
    if name == "mlp-continuous":
        return TinyMLP(7, 3), state_metadata("continuous")
    if name == "gru":
        return TinyGRU(7, 12, 3), state_metadata(
            "continuous", recurrent=[RecurrentStateSpec("h", "h_out", [12])]
        )
    raise KeyError(name)


MODEL_NAMES = ("cnn-discrete", "cnn-continuous", "mlp-discrete", "mlp-continuous", "gru")


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exported]:
    """name -> exported stand-in (lazy: a model is exported the first time a test asks for it)."""
    root = tmp_path_factory.mktemp("onnx")

    class _Lazy(dict):
        def __missing__(self, name: str) -> Exported:
            module, metadata = _build(name)
            # dynamo explicitly: with "auto" a dynamo failure falls back silently (it once did
            # for every stateless policy), and the legacy path is tested on its own.
            path = export_policy(module, metadata, root / f"{name}.onnx", exporter="dynamo")
            self[name] = Exported(module, metadata, path)
            return self[name]

    return _Lazy()
