"""Where V-MAIL trains: ``device`` is checked up front, and GPU-trained checkpoints export on a CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vmail_helpers import TINY, A, synthetic_episode

from training.vmail.agent import VMAILAgent, resolve_device
from training.vmail.algorithm import agent_from_checkpoint, vmail_config
from training.vmail.replay import SequenceReplay

NO_GPU = "no CUDA GPU visible to PyTorch on this machine"


def _cfg(*extra: str):
    return vmail_config("vmail_cpu", [*TINY, *extra])


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x", ""])
def test_an_unknown_device_is_refused_with_its_name(name: str) -> None:
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_a_gpu_on_a_cpu_machine_fails_before_training() -> None:
    with pytest.raises(ValueError, match=r"PyTorch sees no CUDA GPU.*device=cpu"):
        VMAILAgent(_cfg("device=cuda"), A)


def test_a_checkpoint_trained_on_a_gpu_is_rebuilt_on_the_cpu() -> None:
    """The run's config says cuda; export and evaluation must still build the agent here."""
    torch.manual_seed(0)
    trained = VMAILAgent(_cfg(), A)
    gpu_cfg = _cfg("device=cuda")
    state = {"config": gpu_cfg.to_yaml(), "agent": trained.state_dict(), "action_dim": A, "updates": 7}
    cfg, agent = agent_from_checkpoint(state)
    assert agent.device == torch.device("cpu") and cfg.device == "cpu"
    for name, tensor in trained.state_dict().items():
        torch.testing.assert_close(agent.state_dict()[name], tensor)
    action, _ = agent.act(np.zeros((1, 32, 32, 3), np.uint8), None)
    assert isinstance(action, np.ndarray) and action.shape == (1, A)


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)
def test_an_update_and_an_action_run_on_the_gpu() -> None:
    rng = np.random.default_rng(0)
    replay = SequenceReplay(32, 3, seed=0)
    for _ in range(3):
        replay.add(synthetic_episode(rng, 20))
    agent = VMAILAgent(_cfg("device=cuda"), A)
    assert all(p.is_cuda for p in agent.parameters())
    metrics = agent.update(replay.sample(4, 8), replay.sample(4, 8))
    assert np.isfinite(metrics["model_loss"])
    assert all(s["exp_avg"].is_cuda for s in agent.opts["model"].state.values())
    action, (_, prev) = agent.act(np.zeros((2, 32, 32, 3), np.uint8), None)
    assert isinstance(action, np.ndarray) and action.shape == (2, A) and prev.is_cuda
