"""PolicyRunner: metadata checks, frame window, recurrent state, conversion, providers."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from conftest import Exported

from policies.image_convert import ImageFormatError, convert_image
from policies.metadata import METADATA_KEY, ObservationSpec, PolicyMetadata
from policies.runtime import (
    FrameWindow,
    IncompatibleModelError,
    PolicyRunner,
    check_compatible,
)

TOL = 1e-5
RNG = np.random.default_rng(0)


def frames(n: int, h: int = 42, w: int = 42, c: int = 3) -> list[np.ndarray]:
    return [RNG.integers(0, 256, (h, w, c), dtype=np.uint8) for _ in range(n)]


def torch_logits(module: torch.nn.Module, window: list[np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(np.stack(window)[None])).numpy()[0]


# --- FrameWindow --------------------------------------------------------------------------


def test_frame_window_fills_with_first_frame_then_slides() -> None:
    window = FrameWindow(3)
    a, b, c, d = (np.full((2, 2, 1), v, np.uint8) for v in (1, 2, 3, 4))
    assert not window.ready
    np.testing.assert_array_equal(window.push(a)[:, 0, 0, 0], [1, 1, 1])
    np.testing.assert_array_equal(window.push(b)[:, 0, 0, 0], [1, 1, 2])
    np.testing.assert_array_equal(window.push(c)[:, 0, 0, 0], [1, 2, 3])
    np.testing.assert_array_equal(window.push(d)[:, 0, 0, 0], [2, 3, 4])  # oldest first
    window.reset()
    np.testing.assert_array_equal(window.push(c)[:, 0, 0, 0], [3, 3, 3])
    with pytest.raises(ValueError, match="without reset"):
        window.push(np.zeros((3, 3, 1), np.uint8))


def test_frame_window_batch_episode_start() -> None:
    window = FrameWindow(2)
    window.push_batch(np.array([[1], [10]], np.uint8))
    out = window.push_batch(np.array([[2], [20]], np.uint8), episode_start=np.array([False, True]))
    np.testing.assert_array_equal(out[..., 0], [[1, 2], [20, 20]])
    assert FrameWindow(1).push(np.ones((2, 2, 1), np.uint8)).shape == (1, 2, 2, 1)


# --- image policies -----------------------------------------------------------------------


def test_runner_frame_window_matches_torch(exported: dict[str, Exported]) -> None:
    item = exported["cnn-discrete"]
    runner = PolicyRunner(item.path)
    assert runner.provider == "CPUExecutionProvider"
    assert runner.metadata.observation.frame_window == 2
    f0, f1, f2 = frames(3)
    for window, frame in (([f0, f0], f0), ([f0, f1], f1), ([f1, f2], f2)):
        action = runner.act(frame, "rgb8")
        expected = torch_logits(item.module, window)
        assert isinstance(action, int) and action == int(expected.argmax())
        np.testing.assert_allclose(runner.last_raw[0], expected, atol=TOL)
    runner.reset()
    runner.act(f2)  # encoding defaults to the model's
    np.testing.assert_allclose(runner.last_raw[0], torch_logits(item.module, [f2, f2]), atol=TOL)
    stats = runner.latency_stats()
    assert stats["n"] == 4 and stats["p50"] > 0


def test_runner_converts_encoding_and_size(exported: dict[str, Exported]) -> None:
    item = exported["cnn-discrete"]
    runner = PolicyRunner(item.path)
    (big,) = frames(1, 84, 84, 4)
    runner.act(big, "bgra8")
    model_frame = convert_image(big, "bgra8", "rgb8", 42, 42)
    np.testing.assert_allclose(runner.last_raw[0], torch_logits(item.module, [model_frame] * 2), atol=TOL)


def test_runner_mono_into_color_model_refused_unless_allowed(exported: dict[str, Exported]) -> None:
    item = exported["cnn-discrete"]
    (mono,) = frames(1, 42, 42, 1)
    with pytest.raises(ImageFormatError, match="refused"):
        PolicyRunner(item.path).act(mono, "mono8")
    runner = PolicyRunner(item.path, allow_mono_to_color=True)
    assert isinstance(runner.act(mono, "mono8"), int)


def test_runner_continuous_image_policy_clips(exported: dict[str, Exported]) -> None:
    item = exported["cnn-continuous"]  # mono8 model, bounds [-0.5, 0.5] x [-1, 1]
    runner = PolicyRunner(item.path)
    (rgb,) = frames(1)
    action = runner.act(rgb, "rgb8")
    mono = convert_image(rgb, "rgb8", "mono8")
    mean = torch_logits(item.module, [mono, mono])
    assert isinstance(action, np.ndarray) and action.shape == (2,) and action.dtype == np.float32
    np.testing.assert_allclose(action, np.clip(mean, [-0.5, -1.0], [0.5, 1.0]), atol=TOL)
    values = runner.metadata.action.message_values(action)
    assert set(values) == {"linear.x", "angular.z"}  # type: ignore[arg-type]


def test_act_batch_keeps_per_stream_windows(exported: dict[str, Exported]) -> None:
    item = exported["cnn-discrete"]
    runner = PolicyRunner(item.path)
    steps = [np.stack(frames(3)) for _ in range(3)]
    runner.act_batch(steps[0])
    runner.act_batch(steps[1])
    start = np.array([False, True, False])
    actions = runner.act_batch(steps[2], episode_start=start)
    assert actions.shape == (3,) and actions.dtype == np.int64
    for i in range(3):
        window = [steps[2][i], steps[2][i]] if start[i] else [steps[1][i], steps[2][i]]
        np.testing.assert_allclose(runner.last_raw[i], torch_logits(item.module, window), atol=TOL)


# --- state and recurrent policies ---------------------------------------------------------


def test_state_policy(exported: dict[str, Exported]) -> None:
    item = exported["mlp-discrete"]
    runner = PolicyRunner(item.path)
    state = RNG.standard_normal(7).astype(np.float32)
    with torch.no_grad():
        expected = item.module(torch.from_numpy(state)[None]).numpy()
    assert runner.act(state) == int(expected.argmax())
    assert runner.act_batch(np.stack([state, state])).tolist() == [int(expected.argmax())] * 2
    with pytest.raises(ValueError, match=r"shape \(7,\)"):
        runner.act(np.zeros(6, np.float32))
    with pytest.raises(IncompatibleModelError, match="state vector"):
        check_compatible(runner.metadata, "rgb8", 42, 42)


def test_recurrent_state_carried_over_20_steps(exported: dict[str, Exported]) -> None:
    item = exported["gru"]
    runner = PolicyRunner(item.path)
    assert runner.metadata.is_recurrent
    assert np.all(runner.recurrent_state["h"] == 0)
    states = RNG.standard_normal((20, 7)).astype(np.float32)
    h = torch.zeros(1, 12)
    worst = 0.0
    for step in range(20):
        action = runner.act(states[step])
        with torch.no_grad():
            mean, h = item.module(torch.from_numpy(states[step])[None], h)
        worst = max(worst, float(np.abs(runner.last_raw[0] - mean.numpy()[0]).max()))
        np.testing.assert_allclose(action, np.clip(mean.numpy()[0], -0.2, 0.2), atol=TOL)
    print(f"GRU 20-step max abs diff: {worst:.3g}")
    assert worst <= TOL
    np.testing.assert_allclose(runner.recurrent_state["h"], h.numpy()[0], atol=TOL)
    runner.reset()
    assert np.all(runner.recurrent_state["h"] == 0)
    runner.act(states[0])
    with torch.no_grad():
        first, _ = item.module(torch.from_numpy(states[0])[None], torch.zeros(1, 12))
    np.testing.assert_allclose(runner.last_raw[0], first.numpy()[0], atol=TOL)


def test_recurrent_batch_episode_start_zeroes_state(exported: dict[str, Exported]) -> None:
    item = exported["gru"]
    runner = PolicyRunner(item.path)
    states = RNG.standard_normal((4, 2, 7)).astype(np.float32)
    h = torch.zeros(2, 12)
    for step in range(4):
        start = np.array([False, step == 2])
        runner.act_batch(states[step], episode_start=start)
        if start[1]:
            h[1] = 0
        with torch.no_grad():
            mean, h = item.module(torch.from_numpy(states[step]), h)
        np.testing.assert_allclose(runner.last_raw, mean.numpy(), atol=TOL)


# --- metadata vs graph, compatibility, providers ------------------------------------------


def _with_metadata(src: Path, dst: Path, meta: PolicyMetadata | None) -> Path:
    model = onnx.load(str(src))
    del model.metadata_props[:]
    if meta is not None:
        for key, value in meta.to_metadata_props().items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.save(model, str(dst))
    return dst


def test_runner_refuses_metadata_not_matching_graph(exported: dict[str, Exported], tmp_path: Path) -> None:
    item = exported["cnn-discrete"]  # graph: uint8 [batch, 2, 42, 42, 3]
    wrong = PolicyMetadata.from_json(item.metadata.to_json())
    wrong.observation = ObservationSpec("image", encoding="mono8", height=84, width=84, frame_window=2)
    with pytest.raises(IncompatibleModelError, match=r"84x84 mono8.*\[batch, 2, 84, 84, 1\]") as info:
        PolicyRunner(_with_metadata(item.path, tmp_path / "wrong.onnx", wrong))
    assert "42" in str(info.value)
    wrong_actions = PolicyMetadata.from_json(item.metadata.to_json())
    wrong_actions.action.size = 6
    with pytest.raises(IncompatibleModelError, match="'logits'"):
        PolicyRunner(_with_metadata(item.path, tmp_path / "wrong2.onnx", wrong_actions))
    with pytest.raises(IncompatibleModelError, match="not exported by asymlearn"):
        PolicyRunner(_with_metadata(item.path, tmp_path / "none.onnx", None))
    with pytest.raises(FileNotFoundError):
        PolicyRunner(tmp_path / "missing.onnx")
    assert METADATA_KEY == "asymlearn.metadata"


def test_check_compatible_rules(exported: dict[str, Exported]) -> None:
    rgb_model = exported["cnn-discrete"].metadata  # rgb8 42x42
    mono_model = exported["cnn-continuous"].metadata  # mono8 42x42
    same = check_compatible(rgb_model, "rgb8", 42, 42)
    assert same.convert is None and same.resize is None and not same.notes
    report = check_compatible(rgb_model, "bgra8", 480, 640)
    assert report.convert == "bgra8 -> rgb8" and report.resize == "640x480 -> 42x42"
    assert any("aspect" in n for n in report.notes)
    assert check_compatible(rgb_model, "bgr8").resize is None  # size unknown yet
    assert "luminance" in check_compatible(mono_model, "rgb8", 42, 42).notes[0]
    assert "high byte" in check_compatible(mono_model, "mono16", 42, 42).notes[0]
    with pytest.raises(IncompatibleModelError, match="refused"):
        check_compatible(rgb_model, "mono8", 42, 42)
    assert check_compatible(rgb_model, "mono8", 42, 42, allow_mono_to_color=True).convert == "mono8 -> rgb8"
    with pytest.raises(IncompatibleModelError, match="'yuv422' is not supported"):
        check_compatible(rgb_model, "yuv422", 42, 42)
    with pytest.raises(IncompatibleModelError, match="height"):
        check_compatible(rgb_model, "rgb8", 0, 42)


def test_cuda_request_falls_back_to_cpu_and_says_so(
    exported: dict[str, Exported], caplog: pytest.LogCaptureFixture
) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; covered by the gpu test")
    with caplog.at_level(logging.WARNING, logger="policies.runtime"):
        runner = PolicyRunner(exported["mlp-discrete"].path, device="cuda")
    assert runner.provider == "CPUExecutionProvider"
    assert runner.fallback_reason and "CUDAExecutionProvider" in runner.fallback_reason
    assert any("running on CPU" in r.getMessage() for r in caplog.records)
    assert PolicyRunner(exported["mlp-discrete"].path, device="auto").provider == "CPUExecutionProvider"
    with pytest.raises(ValueError, match="device"):
        PolicyRunner(exported["mlp-discrete"].path, device="tpu")  # type: ignore[arg-type]


@pytest.mark.gpu
def test_cuda_provider_runs_and_matches_cpu(exported: dict[str, Exported]) -> None:
    item = exported["cnn-discrete"]
    gpu = PolicyRunner(item.path, device="cuda")
    assert gpu.provider == "CUDAExecutionProvider", gpu.fallback_reason
    cpu = PolicyRunner(item.path, device="cpu")
    for frame in frames(5):
        assert gpu.act(frame) == cpu.act(frame)
        np.testing.assert_allclose(gpu.last_raw, cpu.last_raw, atol=1e-4)
