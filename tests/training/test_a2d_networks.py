"""The network contract the ONNX exporter relies on, and the action heads."""

from __future__ import annotations

import torch

from policies.networks import ImagePolicy, ImageValue, StatePolicy, StateValue


def test_image_policy_contract_uint8_nkhwc() -> None:
    pol = ImagePolicy((42, 42, 3), 4, discrete=True, frame_window=2)
    assert isinstance(pol.frame_window, int) and pol.frame_window == 2
    x = torch.randint(0, 256, (5, 2, 42, 42, 3), dtype=torch.uint8)
    out = pol(x)
    assert out.shape == (5, 4) and out.dtype == torch.float32
    # float input on the 0–255 scale gives the same result (used by augmentation)
    assert torch.allclose(pol(x.float()), out, atol=1e-6)
    # frames matter, oldest first: changing the newest frame changes the output
    y = x.clone()
    y[:, 1] = 0
    assert not torch.allclose(pol(y), out)


def test_state_policy_and_values() -> None:
    pol = StatePolicy(30, 4, discrete=True)
    out = pol(torch.randn(7, 30))
    assert out.shape == (7, 4)
    # last layer gain 0.01: a fresh policy is near uniform
    assert torch.softmax(out, -1).sub(0.25).abs().max() < 0.05
    assert StateValue(30, scale=50.0)(torch.randn(7, 30)).shape == (7,)
    assert ImageValue((42, 42, 3))(torch.zeros(3, 1, 42, 42, 3, dtype=torch.uint8)).shape == (3,)


def test_gaussian_head_state_independent_log_std() -> None:
    pol = StatePolicy(3, 2, discrete=False, init_log_std=-1.0)
    x = torch.randn(6, 3)
    d = pol.dist(x)
    assert d.mean.shape == (6, 2)
    assert torch.allclose(d.stddev, torch.full((6, 2), torch.exp(torch.tensor(-1.0)).item()))
    assert d.log_prob(torch.zeros(6, 2)).shape == (6,)
    assert pol.log_std.requires_grad
