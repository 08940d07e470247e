"""A hand-coded controller as a fixed Gaussian policy, so it can be the expert that AIL imitates.

The A2D paper's AIL baselines on the driving scenario imitated a hand-coded PID expert
wrapped as a Normal with a tiny fixed standard deviation (0.005). ``ScriptedPolicy`` does
the same for any ``module:function`` that maps one privileged state vector to an action
(e.g. ``sim_bridges.driving.expert:expert_action``): its mean is the controller's action,
its log-std a fixed, non-trainable value. It has no trainable weights, so a checkpoint of
an AIL run that uses it stays reproducible from the config alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
import torch

from policies.networks import PolicyNet


def resolve_controller(target: str) -> Callable[[np.ndarray], np.ndarray]:
    """The function named by ``"package.module:function"``; a clear error when it does not exist."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"scripted expert {target!r} is not of the form 'package.module:function'")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"scripted expert {target!r} cannot be imported: {exc}") from exc
    if not callable(fn):
        raise ValueError(f"scripted expert {target!r} is not callable")
    return fn


class ScriptedPolicy(PolicyNet):
    """Continuous policy whose mean is a hand-coded controller's action on each state row."""

    frame_window = 0

    def __init__(self, target: str, state_dim: int, action_size: int, log_std: float = np.log(0.005)) -> None:
        super().__init__()
        self.target = target
        self.state_dim = int(state_dim)
        self.controller = resolve_controller(target)
        self._init_head(False, action_size, float(log_std))
        self.log_std.requires_grad_(False)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        rows = state.detach().to(torch.float32).cpu().numpy()
        if rows.ndim != 2 or rows.shape[1] != self.state_dim:
            raise ValueError(f"scripted expert expects (N, {self.state_dim}) states, got {tuple(rows.shape)}")
        actions = [np.asarray(self.controller(row), np.float32).reshape(self.action_size) for row in rows]
        out = np.stack(actions) if actions else np.zeros((0, self.action_size), np.float32)
        return torch.from_numpy(out)
