"""BC, SQIL and DAC checkpoints as deployable camera policies, for `asymlearn export`.

Why: the baselines are compared with V-MAIL on the same robots, so their policies must leave
training the same way (ONNX with metadata, then `asymlearn evaluate` or the ROS 2 policy node).
Both kinds are plain feed-forward ``PolicyNet``s over stacked uint8 frames.
"""

from __future__ import annotations

from typing import Any

import torch

from policies.networks import PolicyNet
from training.baselines_visual.bc import BCConfig, make_policy
from training.baselines_visual.sac import DrQSAC, SACConfig
from training.checkpoint import CheckpointError, env_info_from_dict, export_metadata

ALGORITHM = {"bc": "BC", "sqil": "SQIL", "dac": "DAC"}


def _bc_policy(state: dict[str, Any], info: Any) -> tuple[PolicyNet, dict[str, Any]]:
    raw = dict(state["bc_config"])
    raw["hidden"] = tuple(raw["hidden"])
    cfg = BCConfig(**raw)
    policy = make_policy(cfg, tuple(info.image_shape), int(info.action_dim))
    policy.load_state_dict(state["policy"])
    provenance = {"seed": cfg.seed, "env_steps": 0, "iteration": int(state["update"])}
    return policy, provenance


def _sac_policy(state: dict[str, Any], info: Any) -> tuple[PolicyNet, dict[str, Any]]:
    raw = dict(state["offpolicy_config"])
    sac = DrQSAC(info.image_shape, int(info.action_dim), SACConfig(**raw["sac"]), torch.Generator())
    sac.load_state_dict(state["sac"])
    steps = int(state["env_steps"])
    return sac.policy, {"seed": int(raw["seed"]), "env_steps": steps, "iteration": steps}


def policy_from_checkpoint(state: dict[str, Any]) -> tuple[PolicyNet, dict[str, Any]]:
    """The deterministic image policy of a loaded BC/SQIL/DAC checkpoint and its export metadata."""
    method = str(state.get("method", ""))
    if method not in ALGORITHM:
        raise CheckpointError(f"visual-baseline checkpoint of unknown method {method!r} (have bc, sqil, dac)")
    info = env_info_from_dict(state["env_info"])
    policy, provenance = (_bc_policy if method == "bc" else _sac_policy)(state, info)
    policy.eval().requires_grad_(False)
    row = state.get("row", {}) or {}
    metadata = export_metadata(
        info,
        observation_input="image",
        frame_window=int(policy.frame_window),
        algorithm=ALGORITHM[method],
        method=method,
        preset="",
        policy="trainee",
        eval_return=row.get("eval_return_mean"),
        **provenance,
    )
    return policy, metadata
