"""Export: graph validity, embedded metadata, dynamic batch, torch/ORT parity, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import MODEL_NAMES, Exported, TinyCNN, TinyMLP, image_metadata, state_metadata

import policies.export as export_mod
from policies.export import ExportError, check_parity, export_policy, read_metadata
from policies.metadata import METADATA_KEY, SCHEMA_VERSION_KEY

PARITY_TOL = 1e-5


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_export_checker_metadata_and_parity(exported: dict[str, Exported], name: str) -> None:
    item = exported[name]
    model = onnx.load(str(item.path))
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: p.value for p in model.metadata_props}
    assert set(props) >= {METADATA_KEY, SCHEMA_VERSION_KEY}
    meta = read_metadata(item.path)
    assert meta.observation == item.metadata.observation
    assert meta.action == item.metadata.action
    assert meta.recurrent == item.metadata.recurrent
    assert meta.provenance.created  # filled at export time
    batch_dims = [i.type.tensor_type.shape.dim[0] for i in model.graph.input]
    assert all(d.dim_param and not d.dim_value for d in batch_dims), "batch axis must be symbolic"
    diff = check_parity(item.module, item.path, batch_sizes=(1, 3))
    print(f"parity {name}: {diff:.3g}")
    assert diff <= PARITY_TOL


@pytest.mark.parametrize("name", ["cnn-discrete", "cnn-continuous", "mlp-discrete", "mlp-continuous"])
def test_action_output_semantics(exported: dict[str, Exported], name: str) -> None:
    item = exported[name]
    session = ort.InferenceSession(str(item.path), providers=["CPUExecutionProvider"])
    meta = item.metadata
    gen = torch.Generator().manual_seed(5)
    (obs,) = export_mod.example_inputs(meta, 5, gen)
    if meta.observation.kind == "state":
        obs = obs * 10  # push means past the bounds so clipping is exercised
    action, raw = session.run(None, {meta.observation.input_name: obs.numpy()})
    with torch.no_grad():
        expected_raw = item.module(obs).numpy()
    np.testing.assert_allclose(raw, expected_raw, atol=PARITY_TOL)
    if meta.action.kind == "discrete":
        assert action.dtype == np.int64 and action.shape == (5,)
        np.testing.assert_array_equal(action, expected_raw.argmax(-1))
    else:
        low, high = np.array(meta.action.low, np.float32), np.array(meta.action.high, np.float32)
        np.testing.assert_allclose(action, np.clip(expected_raw, low, high), atol=PARITY_TOL)


def test_legacy_exporter_also_works(tmp_path: Path) -> None:
    torch.manual_seed(1)
    module = TinyMLP(7, 3)
    path = export_policy(module, state_metadata("continuous"), tmp_path / "legacy.onnx", exporter="legacy")
    assert check_parity(module, path, batch_sizes=(1, 4)) <= PARITY_TOL


def test_failure_after_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "policy.onnx"
    target.write_bytes(b"previous model")

    def broken(*_args: object, **_kwargs: object) -> None:
        assert any(p.suffix == ".tmp" for p in tmp_path.iterdir()), "temp file exists during verification"
        raise ExportError("simulated verification failure")

    monkeypatch.setattr(export_mod, "_verify_with_onnxruntime", broken)
    with pytest.raises(ExportError, match="simulated"):
        export_policy(TinyMLP(7, 3), state_metadata("discrete"), target, exporter="legacy")
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.onnx"]


def test_module_not_matching_metadata_is_refused(tmp_path: Path) -> None:
    wrong_size = state_metadata("discrete")
    wrong_size.action.size = 5
    with pytest.raises(ExportError, match=r"metadata expects \(2, 5\)"):
        export_policy(TinyMLP(7, 3), wrong_size, tmp_path / "x.onnx")
    cnn = TinyCNN(3, 42, 42, 3, 4)
    with pytest.raises(ExportError, match="frame_window"):
        export_policy(cnn, image_metadata("discrete"), tmp_path / "y.onnx")
    with pytest.raises(ValueError, match="example_batch"):
        export_policy(TinyMLP(7, 3), state_metadata("discrete"), tmp_path / "z.onnx", example_batch=1)
    assert list(tmp_path.iterdir()) == []
