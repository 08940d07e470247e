"""V-MAIL ONNX export: recurrent state (deter, stoch, previous action) as explicit inputs/outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from policies.export import check_parity, check_recurrent_parity, read_metadata
from policies.runtime import PolicyRunner
from training.vmail.agent import VMAILAgent
from training.vmail.algorithm import vmail_config
from training.vmail.deploy import VMAILPolicy, export_vmail

A = 3


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[VMAILAgent, str]:
    torch.manual_seed(0)
    cfg = vmail_config("vmail_cpu", ["model.deter=24", "model.stoch=6", "behavior.units=16"])
    agent = VMAILAgent(cfg, A)
    path = export_vmail(agent, str(tmp_path_factory.mktemp("vmail") / "vmail.onnx"), environment="synthetic")
    return agent, path


def test_metadata_declares_recurrent_state(exported: tuple[VMAILAgent, str]) -> None:
    _, path = exported
    meta = read_metadata(path)
    assert meta.input_names == ["images", "deter", "stoch", "prev_action"]
    assert meta.output_names == ["action", "mean", "deter_out", "stoch_out", "prev_action_out"]
    assert [r.shape for r in meta.recurrent] == [[24], [6], [A]]
    assert (meta.observation.height, meta.observation.normalisation) == (32, "uint8/255-0.5")
    assert meta.action.low == [-1.0] * A and meta.provenance.algorithm == "V-MAIL"


def test_recurrent_parity_over_20_steps(exported: tuple[VMAILAgent, str]) -> None:
    agent, path = exported
    policy = VMAILPolicy(agent)
    assert check_recurrent_parity(policy, path, steps=20, batch=3) < 1e-4
    assert check_parity(policy, path, batch_sizes=(1, 4)) < 1e-4


def test_onnx_policy_matches_agent_acting(exported: tuple[VMAILAgent, str]) -> None:
    """The runner (as used by the ROS node) carries the state like the training-time filter."""
    agent, path = exported
    runner = PolicyRunner(path)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    state = None
    for frame in frames:
        want, state = agent.act(frame[None], state, explore=0.0, sample_latent=False)
        got = runner.act(frame)
        np.testing.assert_allclose(got, want[0], atol=1e-4)
    np.testing.assert_allclose(runner.recurrent_state["prev_action"], want[0], atol=1e-4)
    runner.reset()  # episode start: zero state, like the agent's initial state
    assert all(not v.any() for v in runner.recurrent_state.values())
    want0, _ = agent.act(frames[:1], None, explore=0.0, sample_latent=False)
    np.testing.assert_allclose(runner.act(frames[0]), want0[0], atol=1e-4)
