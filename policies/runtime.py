"""Run an exported policy with ONNX Runtime: the deployment side of :mod:`policies.export`.

Why a runner rather than a bare session: a policy is more than a graph call. It
needs the frame window (the last K frames, oldest first, filled with the first frame
after a reset), the recurrent state carried between calls and zeroed at episode start,
the camera image converted to what the model was trained on, and a clear refusal when
the file does not match what the robot publishes. The ROS node and the simulation
evaluator both use this class, so they behave identically.

Compatibility rules (:func:`check_compatible`, also applied by :meth:`PolicyRunner.act`):

* size differences are resized (``INTER_AREA`` shrinking, ``INTER_LINEAR`` growing);
* colour encodings (rgb8/bgr8/rgba8/bgra8) are reordered / stripped of alpha for an
  rgb8 model, and reduced to BT.601 luminance for a mono8 model;
* mono8/mono16 into a mono8 model is accepted (mono16 keeps the high byte);
* mono into an rgb8 model is **refused** by default: a colour policy fed grey
  replicas is out of distribution (``allow_mono_to_color=True`` overrides);
* unknown encodings, and any camera image for a state-input policy, are refused.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort

from policies.image_convert import ENCODINGS, ImageFormatError, channels_of, convert_image
from policies.metadata import MetadataError, PolicyMetadata

log = logging.getLogger(__name__)

Device = Literal["cpu", "cuda", "auto"]
CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"


class IncompatibleModelError(ValueError):
    """The model cannot be fed from this camera/topic, or its file contradicts its metadata."""


@dataclass
class Compatibility:
    """What :func:`check_compatible` decided: the conversions a runner will perform."""

    convert: str | None = None  # e.g. "bgr8 -> rgb8"; None when the encoding already matches
    resize: str | None = None  # e.g. "640x480 -> 84x84"; None when unknown or equal
    notes: list[str] = field(default_factory=list)


def check_compatible(
    metadata: PolicyMetadata,
    encoding: str,
    height: int | None = None,
    width: int | None = None,
    allow_mono_to_color: bool = False,
) -> Compatibility:
    """Decide at configure time whether a camera stream can drive this model.

    Raises :class:`IncompatibleModelError` when it cannot (see the module docstring for
    the rules); returns the conversions that will happen otherwise. ``height``/``width``
    may be None when the topic's size is not known yet.
    """
    obs = metadata.observation
    if obs.kind != "image":
        raise IncompatibleModelError(
            f"model input '{obs.input_name}' is a {obs.state_dim}-dim state vector, not a camera image"
        )
    if encoding not in ENCODINGS:
        raise IncompatibleModelError(
            f"camera encoding {encoding!r} is not supported (supported: {', '.join(ENCODINGS)}); "
            f"the model expects {obs.encoding}"
        )
    result = Compatibility()
    if encoding != obs.encoding:
        if obs.encoding == "rgb8" and not channels_of(encoding) >= 3 and not allow_mono_to_color:
            raise IncompatibleModelError(
                f"camera publishes {encoding} but the model expects colour (rgb8 {obs.width}x{obs.height}); "
                "replicating grey into 3 channels is refused (set allow_mono_to_color to override)"
            )
        result.convert = f"{encoding} -> {obs.encoding}"
        if obs.encoding == "mono8" and channels_of(encoding) >= 3:
            result.notes.append("colour reduced to BT.601 luminance")
        if encoding == "mono16":
            result.notes.append("mono16 reduced to its high byte")
    for name, value in (("height", height), ("width", width)):
        if value is not None and (not isinstance(value, int | np.integer) or value <= 0):
            raise IncompatibleModelError(f"camera {name} must be a positive integer, got {value!r}")
    if height is not None and width is not None and (height, width) != (obs.height, obs.width):
        result.resize = f"{width}x{height} -> {obs.width}x{obs.height}"
        if abs(width / height - obs.width / obs.height) > 0.01 * (obs.width / obs.height):  # type: ignore[operator]
            result.notes.append("aspect ratio changes: the image will be stretched")
    return result


class FrameWindow:
    """The last ``size`` frames, oldest first, for one stream or a batch of streams.

    After :meth:`reset` (or at construction) the first pushed frame fills the whole
    window, so the policy sees a static scene rather than black frames. :meth:`push`
    returns the window array itself (no copy): read it before the next push.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"frame window size must be >= 1, got {size}")
        self.size = size
        self._buf: np.ndarray | None = None  # (N, K, *frame)

    def reset(self) -> None:
        self._buf = None

    @property
    def ready(self) -> bool:
        return self._buf is not None

    @property
    def frames(self) -> np.ndarray:
        """(N, K, *frame) window of all streams (valid after the first push)."""
        if self._buf is None:
            raise RuntimeError("frame window is empty: push a frame first")
        return self._buf

    def push(self, frame: np.ndarray) -> np.ndarray:
        """Single stream: append ``frame`` and return the (K, *frame) window."""
        return self.push_batch(frame[None])[0]

    def push_batch(self, frames: np.ndarray, episode_start: np.ndarray | None = None) -> np.ndarray:
        """Append one frame per stream; streams flagged in ``episode_start`` are refilled."""
        buf = self._buf
        if (
            buf is None
            or buf.shape[0] != frames.shape[0]
            or buf.shape[2:] != frames.shape[1:]
            or buf.dtype != frames.dtype
        ):
            if buf is not None:
                raise ValueError(
                    f"frame shape changed from {buf.shape[:1] + buf.shape[2:]} to {frames.shape} "
                    "without reset()"
                )
            buf = np.empty((frames.shape[0], self.size, *frames.shape[1:]), dtype=frames.dtype)
            buf[:] = frames[:, None]
            self._buf = buf
            return buf
        if self.size > 1:
            buf[:, :-1] = buf[:, 1:]
        buf[:, -1] = frames
        if episode_start is not None:
            idx = np.flatnonzero(episode_start)
            if idx.size:
                buf[idx] = frames[idx, None]
        return buf


def select_providers(device: Device) -> list[str]:
    """ONNX Runtime providers to request for ``device`` (CPU is always the last resort)."""
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    available = ort.get_available_providers()
    if device == "cpu":
        return [CPU_PROVIDER]
    if CUDA_PROVIDER in available:
        return [CUDA_PROVIDER, CPU_PROVIDER]
    if device == "cuda":
        log.warning(
            "device='cuda' requested but this onnxruntime has no CUDAExecutionProvider (available: %s; "
            "install the 'gpu' extra, onnxruntime-gpu); running on CPU",
            ", ".join(available),
        )
    return [CPU_PROVIDER]


def _dims_match(actual: list[Any], expected: tuple[int, ...]) -> bool:
    """Batch axis must be symbolic or 1-free; other axes equal where the graph fixes them."""
    if len(actual) != 1 + len(expected):
        return False
    if isinstance(actual[0], int) and actual[0] != -1:
        return False  # a fixed batch axis breaks act_batch; exports always make it dynamic
    return all(not isinstance(a, int) or a == e for a, e in zip(actual[1:], expected, strict=True))


def validate_against_session(metadata: PolicyMetadata, session: ort.InferenceSession) -> None:
    """Raise IncompatibleModelError when the graph's inputs/outputs contradict the metadata."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    obs = metadata.observation
    if set(inputs) != set(metadata.input_names):
        raise IncompatibleModelError(
            f"model inputs {sorted(inputs)} but metadata declares {metadata.input_names}"
        )
    missing = [n for n in metadata.output_names if n not in outputs]
    if missing:
        raise IncompatibleModelError(
            f"model lacks outputs {missing} declared in metadata (has {sorted(outputs)})"
        )
    node = inputs[obs.input_name]
    want_type = "tensor(uint8)" if obs.kind == "image" else "tensor(float)"
    described = (
        f"frame_window={obs.frame_window}, {obs.height}x{obs.width} {obs.encoding} "
        f"({obs.channels} channel(s))"
        if obs.kind == "image"
        else f"state_dim={obs.state_dim}"
    )
    if node.type != want_type or not _dims_match(node.shape, obs.input_shape):
        raise IncompatibleModelError(
            f"model input '{obs.input_name}' is {node.type} {node.shape} but metadata declares "
            f"{described}, i.e. {want_type} [batch, {', '.join(map(str, obs.input_shape))}]"
        )
    act = metadata.action
    raw = outputs[act.raw_output_name]
    if raw.type != "tensor(float)" or not _dims_match(raw.shape, (act.size,)):
        raise IncompatibleModelError(
            f"model output '{act.raw_output_name}' is {raw.type} {raw.shape}; "
            f"metadata declares float [batch, {act.size}]"
        )
    action = outputs[act.output_name]
    want = ("tensor(int64)", ()) if act.kind == "discrete" else ("tensor(float)", (act.size,))
    if action.type != want[0] or not _dims_match(action.shape, want[1]):
        raise IncompatibleModelError(
            f"model output '{act.output_name}' is {action.type} {action.shape}; a {act.kind} action of size "
            f"{act.size} needs {want[0]} [batch{', ' + str(act.size) if want[1] else ''}]"
        )
    for spec in metadata.recurrent:
        for name, io in ((spec.input_name, inputs), (spec.output_name, outputs)):
            node = io[name]
            if node.type != "tensor(float)" or not _dims_match(node.shape, tuple(spec.shape)):
                raise IncompatibleModelError(
                    f"recurrent tensor '{name}' is {node.type} {node.shape}; metadata declares float "
                    f"[batch, {', '.join(map(str, spec.shape))}]"
                )


class PolicyRunner:
    """An exported policy ready to act: metadata checked, state carried between calls.

    ``act`` drives one stream (a robot), ``act_batch`` N streams (batched simulation);
    each keeps its own frame window and recurrent state. ``reset()`` starts a new
    episode for both. Use 1 intra-op thread in control loops: more threads gave p99
    latency outliers of 8-100 ms on the 2-core machines.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        device: Device = "cpu",
        intra_op_threads: int = 1,
        allow_mono_to_color: bool = False,
        latency_window: int = 1000,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no ONNX policy at {self.path}")
        self.requested_device = device
        providers = select_providers(device)
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(self.path), options, providers=providers)
        self.provider: str = self._session.get_providers()[0]
        self.fallback_reason: str | None = None
        if device == "cuda" and self.provider != CUDA_PROVIDER:
            self.fallback_reason = (
                "CUDA requested but not usable here"
                if CUDA_PROVIDER in providers
                else "onnxruntime has no CUDAExecutionProvider"
            )
            if CUDA_PROVIDER in providers:  # listed but failed to load (e.g. no GPU/driver)
                log.warning("CUDAExecutionProvider failed to initialise; running %s on CPU", self.path.name)
        log.info("policy %s runs on %s", self.path.name, self.provider)

        props = self._session.get_modelmeta().custom_metadata_map
        try:
            self._metadata = PolicyMetadata.from_metadata_props(props)
        except MetadataError as exc:
            raise IncompatibleModelError(f"{self.path}: {exc}") from exc
        validate_against_session(self._metadata, self._session)

        obs = self._metadata.observation
        self.allow_mono_to_color = allow_mono_to_color
        self._output_names = self._metadata.output_names
        self._window = FrameWindow(obs.frame_window)
        self._batch_window = FrameWindow(obs.frame_window)
        self._state: list[np.ndarray] | None = None
        self._batch_state: list[np.ndarray] | None = None
        self._checked: set[tuple[str, int, int]] = set()
        self.last_raw: np.ndarray | None = None  # logits/mean of the last call, (N, A)
        self._latencies: deque[float] = deque(maxlen=latency_window)

    @property
    def metadata(self) -> PolicyMetadata:
        return self._metadata

    @property
    def frame_window(self) -> FrameWindow:
        return self._window

    @property
    def recurrent_state(self) -> dict[str, np.ndarray]:
        """Current single-stream recurrent state by input name (zeros before the first call)."""
        state = self._state or self._zero_state(1)
        return {spec.input_name: s[0] for spec, s in zip(self._metadata.recurrent, state, strict=True)}

    def reset(self) -> None:
        """New episode: empty frame windows, zero recurrent state (single and batch)."""
        self._window.reset()
        self._batch_window.reset()
        self._state = None
        self._batch_state = None

    def _zero_state(self, batch: int) -> list[np.ndarray]:
        return [np.zeros((batch, *spec.shape), np.float32) for spec in self._metadata.recurrent]

    def _prepare_image(self, image: np.ndarray, encoding: str | None) -> np.ndarray:
        obs = self._metadata.observation
        encoding = encoding or obs.encoding
        key = (encoding, int(image.shape[0]), int(image.shape[1]))  # type: ignore[arg-type]
        if key not in self._checked:  # the rules are static per stream format: check once
            try:
                check_compatible(self._metadata, encoding, key[1], key[2], self.allow_mono_to_color)
            except IncompatibleModelError as exc:
                raise ImageFormatError(str(exc)) from None
            self._checked.add(key)
        return convert_image(image, encoding, obs.encoding, obs.height, obs.width)  # type: ignore[arg-type]

    def _prepare_state(self, state: Any, batched: bool) -> np.ndarray:
        arr = np.asarray(state, dtype=np.float32)
        dim = self._metadata.observation.state_dim
        ok = arr.ndim == 2 and arr.shape[1] == dim if batched else arr.shape == (dim,)
        if not ok:
            want = f"(N, {dim})" if batched else f"({dim},)"
            raise ValueError(f"state must have shape {want}, got {arr.shape}")
        return arr

    def _run(
        self, obs: np.ndarray, state: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        feeds = {self._metadata.observation.input_name: obs}
        for spec, value in zip(self._metadata.recurrent, state, strict=True):
            feeds[spec.input_name] = value
        start = time.perf_counter()
        outputs = self._session.run(self._output_names, feeds)
        self._latencies.append(time.perf_counter() - start)
        return outputs[0], outputs[1], list(outputs[2:])

    def act(self, observation: np.ndarray, encoding: str | None = None) -> int | np.ndarray:
        """One step for one stream: an image (HxWxC, ``encoding`` defaults to the model's)
        or a state vector (D,). Returns an int (discrete) or a float32 (A,) array."""
        if self._metadata.observation.kind == "image":
            frame = self._prepare_image(observation, encoding)
            obs = self._window.push_batch(frame[None])
        else:
            obs = self._prepare_state(observation, batched=False)[None]
        state = self._state if self._state is not None else self._zero_state(1)
        action, raw, new_state = self._run(obs, state)
        self._state = new_state
        self.last_raw = raw
        if self._metadata.action.kind == "discrete":
            return int(action[0])
        return action[0]

    def act_batch(
        self, observations: np.ndarray, encoding: str | None = None, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        """One step for N streams: images (N, H, W, C) or states (N, D).

        ``episode_start[i]`` True marks ``observations[i]`` as the first of a new episode
        (window refilled with it, recurrent state zeroed), matching the auto-reset of a
        BatchedEnv. A change of N starts every stream afresh. Returns (N,) int64 or (N, A).
        """
        if self._metadata.observation.kind == "image":
            observations = np.asarray(observations)
            if observations.ndim not in (3, 4):
                raise ImageFormatError(f"batched images must be (N, H, W, C), got shape {observations.shape}")
            frames = np.stack([self._prepare_image(image, encoding) for image in observations])
            if self._batch_window.ready and self._batch_window.frames.shape[0] != frames.shape[0]:
                self._batch_window.reset()
                self._batch_state = None
            obs = self._batch_window.push_batch(frames, episode_start)
        else:
            obs = self._prepare_state(observations, batched=True)
        n = obs.shape[0]
        state = self._batch_state
        if state is None or (state and state[0].shape[0] != n):
            state = self._zero_state(n)
        elif episode_start is not None and state:
            idx = np.flatnonzero(episode_start)
            for value in state:
                value[idx] = 0.0
        action, raw, new_state = self._run(obs, state)
        self._batch_state = new_state
        self.last_raw = raw
        return action

    def latency_stats(self) -> dict[str, float]:
        """Session.run latency over the recent calls, in milliseconds (p50, p99, mean, max, n)."""
        if not self._latencies:
            return {"n": 0.0}
        ms = np.asarray(self._latencies) * 1e3
        return {
            "n": float(ms.size),
            "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)),
            "mean": float(ms.mean()),
            "max": float(ms.max()),
        }
