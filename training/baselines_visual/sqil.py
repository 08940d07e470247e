"""SQIL (Reddy et al. 2020): soft Q-learning where demonstrated transitions earn reward 1 and the
agent's own transitions reward 0, sampled half and half. No reward model and no adversary:
the agent is pulled back to demonstrated states and away from everything else.
"""

from __future__ import annotations

import torch

from training.baselines_visual.dataset import FrameReplay


def sqil_batch(
    demos: FrameReplay, agent: FrameReplay, batch_size: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Half demo transitions relabelled reward 1, half agent transitions relabelled reward 0."""
    n_demo = batch_size // 2
    d = demos.transitions(demos.sample_rows(n_demo, generator))
    a = agent.transitions(agent.sample_rows(batch_size - n_demo, generator))
    d["reward"] = torch.ones(n_demo)
    a["reward"] = torch.zeros(batch_size - n_demo)
    return {k: torch.cat([d[k], a[k]]) for k in d}
