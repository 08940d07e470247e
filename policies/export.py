"""Export a policy module to ONNX with embedded metadata, and check torch/ORT parity.

The exported graph has these inputs/outputs (names from the metadata):

* inputs: the observation (``images`` uint8 (N, K, H, W, C) or ``state`` float32 (N, D)),
  then each recurrent state (float32 (N, *shape));
* outputs: ``action`` (discrete: argmax, int64 (N,); continuous: the mean clipped to
  the metadata bounds, float32 (N, A)), ``logits``/``mean`` float32 (N, A), then each
  new recurrent state.

Module contract: ``module(obs, *states) -> raw`` for feed-forward, ``-> (raw, *new_states)``
for recurrent policies.

Exporter choice: the dynamo exporter (``torch.export`` + onnxscript) is the default.
Measured here with torch 2.13: both exporters give parity ~1e-7 on conv, MLP and
GRUCell policies with uint8 inputs and a dynamic batch; the legacy TorchScript exporter
is deprecated ("will be removed") and only kept as a fallback (``exporter="auto"`` tries
dynamo, then legacy with a logged warning) for modules dynamo cannot trace. Dynamo
exported from a batch-1 example can silently fix the batch to 1, so we export from
``example_batch >= 2`` and always verify, in ONNX Runtime, a batch size other than the
example's before the file is published. Exporter chatter (progress prints,
"torchvision not installed" log lines, deprecation warnings) is captured and logged at
DEBUG level.

Files are written atomically: the model goes to a temporary file in the target
directory, is checked (``onnx.checker`` + an ONNX Runtime run), then ``os.replace``-d
over the target; on any failure the temporary file is removed and an existing target
is left untouched.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import torch
from torch import nn

from policies.metadata import PolicyMetadata, utc_now_iso

log = logging.getLogger(__name__)

Exporter = Literal["auto", "dynamo", "legacy"]
LEGACY_OPSET = 17


class ExportError(RuntimeError):
    """The module could not be exported, or the exported graph failed verification."""


class _ExportWrapper(nn.Module):
    """Adds the ``action`` output (argmax or clipped mean) in front of the raw output."""

    def __init__(self, module: nn.Module, metadata: PolicyMetadata) -> None:
        super().__init__()
        self.module = module
        self.discrete = metadata.action.kind == "discrete"
        self.n_recurrent = len(metadata.recurrent)
        self.clip = metadata.action.kind == "continuous" and metadata.action.bounded
        low = torch.tensor(metadata.action.low or [0.0], dtype=torch.float32)
        high = torch.tensor(metadata.action.high or [0.0], dtype=torch.float32)
        self.register_buffer("low", low, persistent=False)
        self.register_buffer("high", high, persistent=False)

    def forward(self, obs: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.module(obs, *states)
        if self.n_recurrent:
            raw, *new_states = out
        else:
            raw, new_states = out, []
        if self.discrete:
            action = torch.argmax(raw, dim=-1)
        elif self.clip:
            action = torch.minimum(torch.maximum(raw, self.low), self.high)
        else:
            action = raw.clone()  # a distinct graph output, not an alias of the mean
        return (action, raw, *new_states)


def example_inputs(
    metadata: PolicyMetadata, batch: int, generator: torch.Generator | None = None, zero_state: bool = False
) -> tuple[torch.Tensor, ...]:
    """Random inputs matching the metadata (uint8 pixels, normal states)."""
    obs_spec = metadata.observation
    shape = (batch, *obs_spec.input_shape)
    if obs_spec.kind == "image":
        obs = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    else:
        obs = torch.randn(shape, generator=generator)
    states = [
        torch.zeros(batch, *spec.shape)
        if zero_state
        else torch.randn(batch, *spec.shape, generator=generator)
        for spec in metadata.recurrent
    ]
    return (obs, *states)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[list[str]]:
    """Capture exporter prints, warnings and torch.onnx log lines; yield them for DEBUG logging."""
    captured: list[str] = []
    sink = io.StringIO()
    onnx_logger = logging.getLogger("torch.onnx")
    old_level = onnx_logger.level
    onnx_logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            warnings.simplefilter("always")
            yield captured
    finally:
        onnx_logger.setLevel(old_level)
        captured.extend(str(w.message) for w in caught)
        captured.extend(line for line in sink.getvalue().splitlines() if line.strip())
        for line in captured:
            log.debug("exporter: %s", line)


def _export_proto(
    wrapper: nn.Module, inputs: tuple[torch.Tensor, ...], metadata: PolicyMetadata, exporter: str
) -> onnx.ModelProto:
    input_names, output_names = metadata.input_names, metadata.output_names
    with _quiet_exporter():
        if exporter == "dynamo":
            batch = torch.export.Dim("batch", min=1)
            program = torch.onnx.export(
                wrapper,
                inputs,
                input_names=input_names,
                output_names=output_names,
                # The wrapper's signature is (obs, *states): recurrent states bind as one tuple,
                # and a stateless policy has no second entry at all.
                dynamic_shapes=({0: batch}, tuple({0: batch} for _ in inputs[1:]))
                if len(inputs) > 1
                else ({0: batch},),
                dynamo=True,
                external_data=False,
                verbose=False,
                report=False,
            )
            if program is None:
                raise ExportError("dynamo exporter returned no program")
            return program.model_proto
        buffer = io.BytesIO()
        torch.onnx.export(
            wrapper,
            inputs,
            buffer,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes={name: {0: "batch"} for name in input_names + output_names},
            opset_version=LEGACY_OPSET,
            dynamo=False,
        )
        return onnx.load_from_string(buffer.getvalue())


def _verify_with_onnxruntime(path: Path, metadata: PolicyMetadata, batch_sizes: Sequence[int]) -> None:
    """Run the written model at several batch sizes; raise ExportError on wrong shapes/dtypes."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    if names != metadata.input_names:
        raise ExportError(f"exported inputs {names} differ from metadata {metadata.input_names}")
    out_names = [o.name for o in session.get_outputs()]
    if out_names != metadata.output_names:
        raise ExportError(f"exported outputs {out_names} differ from metadata {metadata.output_names}")
    gen = torch.Generator().manual_seed(0)
    for batch in batch_sizes:
        feeds = {n: t.numpy() for n, t in zip(names, example_inputs(metadata, batch, gen), strict=True)}
        outputs = session.run(None, feeds)
        action, raw = outputs[0], outputs[1]
        want_action = (batch,) if metadata.action.kind == "discrete" else (batch, metadata.action.size)
        if action.shape != want_action or raw.shape != (batch, metadata.action.size):
            raise ExportError(
                f"at batch {batch} the graph returned action {action.shape} and raw {raw.shape}; expected "
                f"{want_action} and {(batch, metadata.action.size)} (is the batch axis dynamic?)"
            )
        if metadata.action.kind == "discrete" and action.dtype != np.int64:
            raise ExportError(f"discrete action output has dtype {action.dtype}, expected int64")
        for spec, value in zip(metadata.recurrent, outputs[2:], strict=True):
            if value.shape != (batch, *spec.shape):
                raise ExportError(
                    f"recurrent output {spec.output_name} has shape {value.shape} at batch {batch}"
                )


def _check_module_outputs(
    module: nn.Module, inputs: tuple[torch.Tensor, ...], metadata: PolicyMetadata
) -> None:
    """Fail early, with a readable message, when the module does not fit the metadata."""
    with torch.no_grad():
        out = module(*inputs)
    n_rec = len(metadata.recurrent)
    if n_rec:
        if not isinstance(out, tuple | list) or len(out) != 1 + n_rec:
            raise ExportError(
                f"recurrent module must return (raw, {n_rec} state tensor(s)), got {type(out).__name__}"
            )
        raw = out[0]
    else:
        if not isinstance(out, torch.Tensor):
            raise ExportError(f"module must return one tensor (N, A), got {type(out).__name__}")
        raw = out
    batch = inputs[0].shape[0]
    if tuple(raw.shape) != (batch, metadata.action.size) or raw.dtype != torch.float32:
        raise ExportError(
            f"module returned {tuple(raw.shape)} {raw.dtype}, "
            f"metadata expects ({batch}, {metadata.action.size}) float32"
        )


def export_policy(
    module: nn.Module,
    metadata: PolicyMetadata | dict[str, Any],
    path: str | os.PathLike[str],
    example_batch: int = 2,
    exporter: Exporter = "auto",
) -> Path:
    """Export ``module`` to ``path`` with ``metadata`` embedded; return the path.

    ``provenance.created`` is filled with the current UTC time when empty. The module
    is put in eval mode for the export and its previous mode restored afterwards.
    """
    if isinstance(metadata, dict):
        metadata = PolicyMetadata.from_dict(metadata)
    metadata.validate()
    if metadata.observation.kind == "image":
        frame_window = getattr(module, "frame_window", None)
        if frame_window is not None and int(frame_window) != metadata.observation.frame_window:
            raise ExportError(
                f"module.frame_window={frame_window} but metadata observation.frame_window="
                f"{metadata.observation.frame_window}"
            )
    if example_batch < 2:
        raise ValueError("example_batch must be >= 2 (a batch-1 example can fix the exported batch to 1)")
    if not metadata.provenance.created:
        metadata.provenance.created = utc_now_iso()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    was_training = module.training
    module.eval()
    try:
        wrapper = _ExportWrapper(module, metadata).eval()
        inputs = example_inputs(metadata, example_batch, torch.Generator().manual_seed(0), zero_state=True)
        _check_module_outputs(module, inputs, metadata)
        order = ["dynamo", "legacy"] if exporter == "auto" else [exporter]
        proto: onnx.ModelProto | None = None
        errors: list[str] = []
        for name in order:
            try:
                proto = _export_proto(wrapper, inputs, metadata, name)
                break
            except Exception as exc:
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                if name != order[-1]:
                    log.warning(
                        "dynamo export failed (%s); falling back to the legacy TorchScript exporter", exc
                    )
        if proto is None:
            raise ExportError("export failed: " + " | ".join(errors))
    finally:
        module.train(was_training)

    del proto.metadata_props[:]
    for key, value in metadata.to_metadata_props().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "asymlearn"
    onnx.checker.check_model(proto, full_check=True)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(proto.SerializeToString())
            handle.flush()
            os.fsync(handle.fileno())
        _verify_with_onnxruntime(tmp, metadata, sorted({1, example_batch + 1}))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("exported %s (%s %s policy)", path, metadata.observation.kind, metadata.action.kind)
    return path


def read_metadata(path: str | os.PathLike[str]) -> PolicyMetadata:
    """Metadata of an exported file, without loading the weights into a runtime."""
    model = onnx.load(str(path), load_external_data=False)
    return PolicyMetadata.from_metadata_props({p.key: p.value for p in model.metadata_props})


def check_parity(
    module: nn.Module, path: str | os.PathLike[str], batch_sizes: Sequence[int] = (1, 3), seed: int = 0
) -> float:
    """Max abs difference between torch eager and ONNX Runtime over all float outputs.

    Compares the raw output (logits/mean), the continuous action and every recurrent
    state output, on random inputs (random recurrent states too) at each batch size.
    A discrete action that disagrees with torch's argmax counts as ``inf`` unless the
    two top logits are tied within 1e-5.
    """
    import onnxruntime as ort

    metadata = read_metadata(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wrapper = _ExportWrapper(module, metadata).eval()
    was_training = module.training
    module.eval()
    worst = 0.0
    gen = torch.Generator().manual_seed(seed)
    try:
        for batch in batch_sizes:
            inputs = example_inputs(metadata, batch, gen)
            with torch.no_grad():
                expected = [t.numpy() for t in wrapper(*inputs)]
            got = session.run(None, {n: t.numpy() for n, t in zip(metadata.input_names, inputs, strict=True)})
            for i, (e, g) in enumerate(zip(expected, got, strict=True)):
                if e.shape != g.shape:
                    raise ExportError(
                        f"output {metadata.output_names[i]}: torch {e.shape} vs onnxruntime {g.shape}"
                    )
                if i == 0 and metadata.action.kind == "discrete":
                    logits = expected[1]
                    for row in np.nonzero(e != g)[0]:
                        gap = abs(float(logits[row, e[row]] - logits[row, g[row]]))
                        if gap > 1e-5:
                            worst = float("inf")
                    continue
                if e.size:
                    worst = max(worst, float(np.max(np.abs(e.astype(np.float64) - g.astype(np.float64)))))
    finally:
        module.train(was_training)
    return worst


def check_recurrent_parity(
    module: nn.Module, path: str | os.PathLike[str], steps: int = 20, batch: int = 2, seed: int = 0
) -> float:
    """Max abs torch-vs-ONNX Runtime difference over a ``steps``-long closed-loop sequence.

    Both sides start from zero recurrent state (an episode start) and feed their *own*
    recurrent outputs back, on the same random observations, so an error that compounds
    through the recurrence shows up; every output at every step is compared.
    """
    import onnxruntime as ort

    metadata = read_metadata(path)
    if not metadata.recurrent:
        raise ValueError(f"{path} has no recurrent state; use check_parity")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wrapper = _ExportWrapper(module, metadata).eval()
    gen = torch.Generator().manual_seed(seed)
    torch_states = list(example_inputs(metadata, batch, gen, zero_state=True)[1:])
    ort_states = [s.numpy() for s in torch_states]
    worst = 0.0
    was_training = module.training
    module.eval()
    try:
        for _ in range(steps):
            obs = example_inputs(metadata, batch, gen)[0]
            with torch.no_grad():
                expected = [t.numpy() for t in wrapper(obs, *torch_states)]
            feeds = dict(zip(metadata.input_names, [obs.numpy(), *ort_states], strict=True))
            got = session.run(None, feeds)
            for e, g in zip(expected, got, strict=True):
                worst = max(worst, float(np.max(np.abs(e.astype(np.float64) - g.astype(np.float64)))))
            torch_states = [torch.from_numpy(e) for e in expected[2:]]
            ort_states = got[2:]
    finally:
        module.train(was_training)
    return worst
