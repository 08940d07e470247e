"""`asymlearn export`: arguments, training-dict metadata mapping, and a run against a stand-in
``training.checkpoint`` (the real one needs a trained checkpoint; its contract is only
``load_policy_for_export(path, which) -> (module, metadata_dict)``)."""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import TinyCNN, TinyMLP

from policies import export_cmd
from policies.export import read_metadata
from policies.metadata import MetadataError
from policies.runtime import PolicyRunner


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    export_cmd.add_arguments(parser)
    return parser.parse_args(argv)


def training_dict(which: str) -> dict[str, Any]:
    """The flat form training/checkpoint.py produces (keys as of this writing)."""
    image = which == "trainee"
    return {
        "algorithm": "A2D (gridworld)",
        "method": "a2d",
        "preset": "gridworld",
        "policy": which,
        "environment": "gridworld-v0",
        "seed": 4,
        "env_steps": 12000,
        "iteration": 30,
        "eval_return": np.float32(0.75),
        "eval_return_stochastic": None,
        "observation": {
            "kind": "image" if image else "state",
            "input": "image" if image else "state",
            "encoding": "rgb8" if image else None,
            "height": 42 if image else None,
            "width": 42 if image else None,
            "channels": 3 if image else None,
            "frame_window": 2 if image else 0,
            "state_dim": None if image else 7,
            "layout": "NKHWC uint8" if image else "ND float32",
        },
        "action": {"kind": "discrete", "size": 4, "low": None, "high": None, "names": [], "output": "logits"},
        "control_rate_hz": 5.0,
    }


@pytest.fixture
def fake_checkpoint_module(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def load_policy_for_export(path: Path, which: str = "trainee") -> tuple[torch.nn.Module, dict[str, Any]]:
        calls.append((str(path), which))
        torch.manual_seed(0)
        module = TinyCNN(2, 42, 42, 3, 4) if which == "trainee" else TinyMLP(7, 4)
        return module, training_dict(which)

    fake = types.ModuleType("training.checkpoint")
    fake.load_policy_for_export = load_policy_for_export  # type: ignore[attr-defined]
    fake.CheckpointError = type("CheckpointError", (RuntimeError,), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "training.checkpoint", fake)
    return calls


def test_arguments() -> None:
    args = parse(["run/ckpt.pt"])
    assert args.checkpoint == Path("run/ckpt.pt") and args.which == "trainee"
    assert args.out is None and not args.check_parity and args.exporter == "auto"
    args = parse(["c.pt", "--which", "expert", "--out", "x.onnx", "--check-parity"])
    assert (args.which, args.out, args.check_parity) == ("expert", Path("x.onnx"), True)
    with pytest.raises(SystemExit):
        parse(["c.pt", "--which", "teacher"])
    assert export_cmd.default_output(Path("run/ckpt.pt"), "expert") == Path("run/ckpt.expert.onnx")


def test_training_dict_mapping() -> None:
    meta = export_cmd.metadata_from_training_dict(training_dict("trainee"))
    assert meta.observation.input_shape == (2, 42, 42, 3) and meta.observation.input_name == "images"
    assert meta.action.message is not None and meta.action.message.type == "std_msgs/Int32"
    prov = meta.provenance
    assert (prov.algorithm, prov.environment, prov.seed, prov.training_env_steps) == (
        "A2D (gridworld)",
        "gridworld-v0",
        4,
        12000,
    )
    assert prov.evaluation_return == pytest.approx(0.75)
    assert prov.extra["iteration"] == 30 and prov.extra["observation_key"] == "image"
    assert meta.observation.source == "image"
    state = export_cmd.metadata_from_training_dict(training_dict("expert"))
    assert state.observation.kind == "state" and state.observation.state_dim == 7
    # A2D (Compact): the file says its input is the partial state, not the privileged one.
    compact = training_dict("expert")
    compact["observation"]["input"] = "partial_state"
    assert export_cmd.metadata_from_training_dict(compact).observation.source == "partial_state"
    compact["observation"]["input"] = "image"
    with pytest.raises(MetadataError, match=r"observation\.source"):
        export_cmd.metadata_from_training_dict(compact)
    bad = training_dict("trainee")
    bad["observation"]["height"] = -1
    with pytest.raises(MetadataError, match=r"observation\.height"):
        export_cmd.metadata_from_training_dict(bad)


@pytest.mark.parametrize("which", ["trainee", "expert"])
def test_run_exports_and_checks_parity(
    tmp_path: Path,
    fake_checkpoint_module: list[tuple[str, str]],
    which: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoint = tmp_path / "ckpt.pt"
    checkpoint.write_bytes(b"stand-in")
    rc = export_cmd.run(parse([str(checkpoint), "--which", which, "--check-parity"]))
    assert rc == 0, capsys.readouterr()
    assert fake_checkpoint_module == [(str(checkpoint), which)]
    out = tmp_path / f"ckpt.{which}.onnx"
    assert "OK" in capsys.readouterr().out
    meta = read_metadata(out)
    assert meta.provenance.extra["policy"] == which
    assert isinstance(PolicyRunner(out).metadata.control_rate_hz, float)


def test_run_through_cli_and_missing_checkpoint(
    tmp_path: Path, fake_checkpoint_module: list[tuple[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    assert main(["export", str(tmp_path / "missing.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    checkpoint = tmp_path / "ckpt.pt"
    checkpoint.write_bytes(b"stand-in")
    assert main(["export", str(checkpoint), "--out", str(tmp_path / "p.onnx"), "--exporter", "legacy"]) == 0
    assert (tmp_path / "p.onnx").is_file()
