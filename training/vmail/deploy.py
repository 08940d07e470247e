"""The deployable V-MAIL policy: encoder + posterior filter + actor, with explicit recurrent state.

ONNX contract (policies/export.py): inputs ``images`` uint8 (N, 1, H, W, C), ``deter`` (N, D),
``stoch`` (N, S), ``prev_action`` (N, A); outputs ``action``, ``mean``, ``deter_out``,
``stoch_out``, ``prev_action_out``. All three states are zeros at episode start, which is
exactly the model's initial state (zero latent, zero previous action, as in the stored
episodes' row 0), so the generic runner (policies/runtime.py) and the ROS policy node carry
and reset them with no V-MAIL-specific code. Deterministic: the posterior mean is used as the
latent sample and tanh(μ) as the action.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from training.vmail.agent import VMAILAgent
from training.vmail.rssm import State

RECURRENT_NAMES = ("deter", "stoch", "prev_action")


class VMAILPolicy(nn.Module):
    frame_window = 1

    def __init__(self, agent: VMAILAgent) -> None:
        super().__init__()
        self.encoder, self.rssm, self.actor = agent.world.encoder, agent.world.rssm, agent.actor

    def forward(
        self, images: torch.Tensor, deter: torch.Tensor, stoch: torch.Tensor, prev_action: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = images[:, -1].to(torch.float32) / 255.0 - 0.5
        embed = self.encoder(x.permute(0, 3, 1, 2))
        prev = State(stoch, stoch, stoch, deter)
        prior = self.rssm.img_step(prev, prev_action, sample=False)
        post = self.rssm.obs_step(prior, embed, sample=False)
        action = self.actor.mode(post.feat())
        return action, post.deter, post.stoch, action.clone()


def policy_metadata(
    agent: VMAILAgent, environment: str = "", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Export metadata (policies.metadata.PolicyMetadata as a dict) for ``agent``."""
    cfg, rssm, a = agent.cfg, agent.world.rssm, agent.action_dim
    shapes = {"deter": rssm.deter_dim, "stoch": rssm.stoch_dim, "prev_action": a}
    return {
        "observation": {
            "kind": "image",
            "encoding": "rgb8" if cfg.channels == 3 else "mono8",
            "height": int(cfg.image_size),
            "width": int(cfg.image_size),
            "channels": int(cfg.channels),
            "frame_window": 1,
            "normalisation": "uint8/255-0.5",
        },
        "action": {"kind": "continuous", "size": a, "low": [-1.0] * a, "high": [1.0] * a},
        "recurrent": [
            {"input_name": n, "output_name": f"{n}_out", "shape": [shapes[n]]} for n in RECURRENT_NAMES
        ],
        "provenance": {
            "algorithm": "V-MAIL",
            "environment": environment,
            "seed": int(cfg.seed),
            "extra": {"preset": cfg.get("preset", ""), "updates": int(agent.updates), **(extra or {})},
        },
    }


def policy_from_checkpoint(state: dict[str, Any]) -> tuple[VMAILPolicy, dict[str, Any]]:
    """The deployable policy and its metadata from a loaded V-MAIL checkpoint (for `asymlearn export`)."""
    from training.vmail.algorithm import agent_from_checkpoint

    cfg, agent = agent_from_checkpoint(state)
    policy = VMAILPolicy(agent).eval()
    for p in policy.parameters():
        p.requires_grad_(False)
    extra = {"env_steps": int(state["env_steps"]), "episodes": int(state["episodes"])}
    return policy, policy_metadata(agent, str(cfg.env), extra=extra)


def export_vmail(agent: VMAILAgent, path: str, environment: str = "", example_batch: int = 2) -> str:
    """Write the ONNX policy (dynamo exporter from a batch >= 2 example) and return its path."""
    from policies.export import export_policy

    policy = VMAILPolicy(agent).eval()
    return str(export_policy(policy, policy_metadata(agent, environment), path, example_batch=example_batch))
