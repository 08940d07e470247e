"""`asymlearn export`: checkpoint -> ONNX file with metadata (optionally parity-checked).

The checkpoint format belongs to training; this command relies only on
``training.checkpoint.load_policy_for_export(path, which) -> (module, metadata_dict)`` and
its ``CheckpointError`` (an unreadable or foreign checkpoint), imported when the command
runs so ``asymlearn export --help`` stays cheap.

The metadata dict may already follow :class:`policies.metadata.PolicyMetadata`, or be the
flat training-side form (``algorithm``, ``environment``, ``seed``, ``env_steps``,
``eval_return``, ``observation{kind, encoding, ...}``, ``action{kind, size, low, ...}``,
``control_rate_hz``, plus extra keys); :func:`metadata_from_training_dict` maps the
latter, keeping unknown keys in ``provenance.extra`` so nothing the trainer recorded is lost.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from policies.metadata import (
    ActionSpec,
    MetadataError,
    ObservationSpec,
    PolicyMetadata,
    Provenance,
)

PARITY_TOLERANCE = 1e-4

log = logging.getLogger(__name__)


def default_output(checkpoint: Path, which: str) -> Path:
    """``runs/x/ckpt.pt`` -> ``runs/x/ckpt.trainee.onnx``."""
    return checkpoint.with_name(f"{checkpoint.stem}.{which}.onnx")


_PROVENANCE_KEYS = {
    "algorithm": "algorithm",
    "environment": "environment",
    "seed": "seed",
    "git_commit": "git_commit",
    "env_steps": "training_env_steps",
    "training_env_steps": "training_env_steps",
    "eval_return": "evaluation_return",
    "evaluation_return": "evaluation_return",
    "created": "created",
}
_DEFAULT_MESSAGE = {"discrete": "std_msgs/Int32", "continuous": "std_msgs/Float32MultiArray"}


def _git_commit() -> str:
    """HEAD of the source tree this command runs from ('' outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _plain(value: Any) -> Any:
    """numpy scalars -> Python numbers (the JSON encoder rejects float32 and friends)."""
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", None) == 0 else value


def metadata_from_training_dict(data: dict[str, Any] | PolicyMetadata) -> PolicyMetadata:
    """Build validated PolicyMetadata from what ``load_policy_for_export`` returns."""
    if isinstance(data, PolicyMetadata):
        return data.validate()
    if not isinstance(data, dict):
        raise MetadataError("<root>", f"checkpoint metadata must be a dict, got {type(data).__name__}")
    if "provenance" in data or "schema_version" in data:
        return PolicyMetadata.from_dict(data)
    data = dict(data)
    obs_in = dict(data.pop("observation", None) or {})
    act_in = dict(data.pop("action", None) or {})
    extra: dict[str, Any] = {}
    kind = obs_in.pop("kind", None)
    obs_key = obs_in.pop("input", None)  # the trainer's observation key, not the graph input name
    if obs_key is not None:
        extra["observation_key"] = obs_key
        obs_in.setdefault("source", obs_key)
    obs_in.pop("layout", None)  # implied by kind
    if kind == "state":
        obs_in["frame_window"] = 1
        for name in ("encoding", "height", "width", "channels"):
            if obs_in.get(name) is None:
                obs_in.pop(name, None)
    observation = ObservationSpec.from_dict({"kind": kind, **obs_in}, "observation")
    raw_name = act_in.pop("output", None)
    if raw_name:
        act_in["raw_output_name"] = raw_name
    for name in ("low", "high", "names"):
        if act_in.get(name) is None:
            act_in.pop(name, None)
    if act_in.get("message") is None and act_in.get("kind") in _DEFAULT_MESSAGE:
        act_in["message"] = {"type": _DEFAULT_MESSAGE[act_in["kind"]]}
    action = ActionSpec.from_dict(act_in, "action")
    control_rate = data.pop("control_rate_hz", 10.0)
    provenance: dict[str, Any] = {}
    for key, value in data.items():
        value = _plain(value)
        if key == "extra" and isinstance(value, dict):
            extra.update(value)
        elif key in _PROVENANCE_KEYS and value is not None:
            provenance[_PROVENANCE_KEYS[key]] = value
        else:
            extra[key] = value
    if not provenance.get("git_commit"):
        provenance["git_commit"] = _git_commit()
    return PolicyMetadata(
        observation=observation,
        action=action,
        control_rate_hz=float(control_rate),
        provenance=Provenance(**provenance, extra=extra),
    ).validate()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="training checkpoint to export")
    parser.add_argument(
        "--which",
        choices=("trainee", "expert"),
        default="trainee",
        help="trainee = image policy deployed on the robot (default); expert = privileged-state policy",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output .onnx path (default: <checkpoint>.<which>.onnx)"
    )
    parser.add_argument(
        "--check-parity",
        action="store_true",
        help=f"kept for scripts: parity (torch vs ONNX Runtime, batch 1 and 3, <= {PARITY_TOLERANCE:g}) "
        "is always checked",
    )
    parser.add_argument(
        "--exporter",
        choices=("auto", "dynamo", "legacy"),
        default="auto",
        help="torch ONNX exporter (default: auto)",
    )


def export_checkpoint(
    checkpoint: Path, which: str = "trainee", out: Path | None = None, exporter: str = "auto"
) -> tuple[Path, float]:
    """Export one policy of a training checkpoint; returns (onnx path, torch-vs-ORT parity).

    A model whose parity exceeds PARITY_TOLERANCE is deleted and ExportError is raised, so a
    file on disk always agrees with its checkpoint.
    """
    from policies.export import ExportError, check_parity, export_policy
    from training.checkpoint import load_policy_for_export

    module, raw_metadata = load_policy_for_export(checkpoint, which=which)
    metadata = metadata_from_training_dict(raw_metadata)
    path = export_policy(module, metadata, out or default_output(checkpoint, which), exporter=exporter)
    diff = check_parity(module, path)
    if diff > PARITY_TOLERANCE:
        path.unlink(missing_ok=True)
        raise ExportError(f"parity {diff:.3g} exceeds {PARITY_TOLERANCE}; removed {path}")
    return path, diff


def run(args: argparse.Namespace) -> int:
    checkpoint: Path = args.checkpoint
    if not checkpoint.exists():
        print(f"error: checkpoint {checkpoint} does not exist", file=sys.stderr)
        return 2
    from policies.export import ExportError
    from training.checkpoint import CheckpointError

    try:
        path, diff = export_checkpoint(checkpoint, args.which, args.out, args.exporter)
    except (ExportError, MetadataError, ValueError, CheckpointError) as exc:  # e.g. no such policy in it
        print(f"error: export failed: {exc}", file=sys.stderr)
        return 1
    print(f"exported {args.which} policy to {path}")
    print(f"parity (max abs diff torch vs onnxruntime, batch 1 and 3): {diff:.3g} OK")
    return 0
