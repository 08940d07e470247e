"""Checkpoints: atomic writes, the last two kept, safe (weights_only) loading, and policy export.

A checkpoint holds only tensors and primitive containers (config as YAML text, env facts as a
dict, RNG states as tensors/tuples), so ``torch.load(weights_only=True)`` can read it and a
checkpoint from an untrusted source cannot run code.
"""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

FORMAT = "asymlearn-a2d-v1"
LATEST = "checkpoint.pt"
PREVIOUS = "checkpoint_prev.pt"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, corrupt or of an unknown format."""


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached": float(np_state[4]),
        },
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def _write_temp(path: Path, obj: Any) -> Path:
    """torch.save ``obj`` to a fsynced temp file beside ``path``; the caller renames it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def atomic_save(path: Path | str, obj: Any) -> Path:
    """torch.save that never leaves a half-written ``path``: a kill keeps the old file."""
    path = Path(path)
    os.replace(_write_temp(path, obj), path)
    return path


def save_checkpoint(run_dir: Path | str, payload: dict[str, Any], fmt: str = FORMAT) -> Path:
    """Write run_dir/checkpoint.pt atomically (temp file + fsync + os.replace); keep the previous one."""
    path = Path(run_dir) / LATEST
    tmp = _write_temp(path, {"format": fmt, **payload})
    if path.exists():
        os.replace(path, path.parent / PREVIOUS)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: Path | str, fmt: str | tuple[str, ...] = FORMAT) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; a bad file raises CheckpointError naming it.

    ``fmt`` may list several formats when the caller handles more than one (export).
    """
    path = Path(path)
    if path.is_dir():
        path = path / LATEST
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/garbled files
        prev = path.parent / PREVIOUS
        hint = f"; the previous checkpoint {prev} may still be good" if prev.exists() and prev != path else ""
        raise CheckpointError(
            f"corrupt or unreadable checkpoint {path}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}{hint}"
        ) from exc
    accepted = (fmt,) if isinstance(fmt, str) else tuple(fmt)
    if not isinstance(state, dict) or state.get("format") not in accepted:
        wanted = " or ".join(repr(f) for f in accepted)
        raise CheckpointError(f"{path} is not an asymlearn checkpoint of format {wanted}")
    return state


def require_same_settings(
    run_dir: Path | str, saved: dict[str, Any], current: dict[str, Any], fields: tuple[str, ...]
) -> None:
    """Refuse to resume a run directory that holds a run with other settings, naming them."""
    differ = [k for k in fields if saved.get(k) != current.get(k)]
    if differ:
        what = "; ".join(f"{k}: {saved.get(k)!r} there, {current.get(k)!r} here" for k in differ)
        raise ValueError(
            f"{run_dir} holds a run with other settings ({what}); "
            "use another --run-dir, or --no-resume to start afresh"
        )


def env_info_to_dict(info: Any) -> dict[str, Any]:
    return dataclasses.asdict(info)


def env_info_from_dict(d: dict[str, Any]) -> Any:
    from sim_bridges.api import EnvInfo

    fields = {f.name for f in dataclasses.fields(EnvInfo)}
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in fields}
    return EnvInfo(**kw)


def algorithm_label(cfg: Any) -> str:
    """The paper's name for a configuration: "A2D (Image)", "RL (MDP)", "RL (Asym)", "AIL", ..."""
    m = cfg.method
    if m == "a2d":
        return "A2D (Image)" if cfg.trainee_input == "image" else "A2D (Compact)"
    if m == "ail":
        return "AIL"
    if m == "preenc":
        return "Pre-Enc"
    if cfg.expert_input == "state":
        return "RL (MDP)"
    if cfg.expert_input == "partial_state":
        return "RL (Compact)"
    return "RL (Asym)" if cfg.critic_input == "state" else "RL"


def load_policy_for_export(
    checkpoint_path: Path | str, which: str = "trainee"
) -> tuple[nn.Module, dict[str, Any]]:
    """The deployable policy module (image: uint8 (N,K,H,W,C); state: float32 (N,D)) and export metadata.

    ``which="trainee"`` gives the policy that runs on the robot: the A2D/AIL trainee, or the
    single policy of an RL baseline. ``which="expert"`` gives the state expert (A2D/AIL/Pre-Enc)
    or, for RL (MDP), the state policy itself.
    """
    from training.a2d.algorithm import A2DTrainer
    from training.baselines_visual.evaluation import CHECKPOINT_FORMAT as VISUAL_BASELINE_FORMAT
    from training.config import config_from_yaml
    from training.vmail.algorithm import FORMAT as VMAIL_FORMAT

    if which not in ("trainee", "expert"):
        raise ValueError(f"which must be 'trainee' or 'expert', not {which!r}")
    state = load_checkpoint(checkpoint_path, fmt=(FORMAT, VMAIL_FORMAT, VISUAL_BASELINE_FORMAT))
    if state["format"] == VISUAL_BASELINE_FORMAT:
        from training.baselines_visual.export import policy_from_checkpoint as baseline_policy

        if which != "trainee":
            method = str(state.get("method", "")).upper()
            raise ValueError(f"a {method} checkpoint holds only the image policy (no expert)")
        return baseline_policy(state)
    if state["format"] == VMAIL_FORMAT:
        from training.vmail.deploy import policy_from_checkpoint

        if which != "trainee":
            raise ValueError("a V-MAIL checkpoint holds only the image policy (its experts are scripted)")
        return policy_from_checkpoint(state)
    cfg = config_from_yaml(state["config"])
    info = env_info_from_dict(state["env_info"])
    trainer = A2DTrainer(cfg, None, info)
    trainer.load_state_dict(state["trainer"])
    actor = trainer.deployable if which == "trainee" else (trainer.expert or trainer.deployable)
    module = actor.policy.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    is_image = actor.key == "image"
    dim = None if is_image else (info.state_dim if actor.key == "state" else info.partial_state_dim)
    last_eval = state.get("last_eval", {}) or {}
    metadata = export_metadata(
        info,
        observation_input=actor.key,
        frame_window=int(cfg.frame_window) if is_image else 0,
        state_dim=dim,
        algorithm=algorithm_label(cfg),
        method=cfg.method,
        preset=cfg.get("preset", ""),
        policy=which,
        seed=int(cfg.seed),
        env_steps=int(trainer.env_steps),
        iteration=int(trainer.iteration),
        eval_return=last_eval.get("eval_return_det"),
        eval_return_stochastic=last_eval.get("eval_return_stoch"),
    )
    return module, metadata


def export_metadata(
    info: Any,
    observation_input: str,
    frame_window: int,
    state_dim: int | None = None,
    **provenance: Any,
) -> dict[str, Any]:
    """The flat export metadata (``policies.export_cmd.metadata_from_training_dict``) of a policy
    that reads ``observation_input`` ("image", "state" or "partial_state") of the env ``info``.

    Shared by every trainer whose policy is a plain feed-forward ``PolicyNet`` (A2D and its
    baselines, BC, SQIL, DAC), so their ONNX files describe topics the same way.
    """
    is_image = observation_input == "image"
    h, w, ch = info.image_shape
    discrete = info.discrete_actions is not None
    return {
        **provenance,
        "environment": info.name,
        "observation": {
            "kind": "image" if is_image else "state",
            "input": observation_input,
            "encoding": info.image_encoding if is_image else None,
            "height": int(h) if is_image else None,
            "width": int(w) if is_image else None,
            "channels": int(ch) if is_image else None,
            "frame_window": int(frame_window) if is_image else 0,
            "state_dim": None if is_image else int(state_dim),  # type: ignore[arg-type]
            "layout": "NKHWC uint8" if is_image else "ND float32",
        },
        "action": {
            "kind": "discrete" if discrete else "continuous",
            "size": int(info.discrete_actions if discrete else info.action_dim),
            "low": list(info.action_low) if info.action_low else None,
            "high": list(info.action_high) if info.action_high else None,
            "names": list(info.action_names),
            "output": "logits" if discrete else "mean",
        },
        "control_rate_hz": float(info.control_rate_hz),
    }
