"""Policy metadata embedded in every exported ONNX file.

Why: a ROS node or an evaluator gets only the ``.onnx`` file. Everything it needs to
feed the model (input name, image encoding and size, frame window, normalisation),
to interpret the output (discrete/continuous, bounds, how to fill a ROS message), to
drive it (control rate, recurrent state to carry) and to trust it (provenance) travels
inside the file, in ``ModelProto.metadata_props``:

* ``asymlearn.metadata``: the JSON produced by :meth:`PolicyMetadata.to_json`;
* ``asymlearn.schema_version``: the schema version, readable without parsing the JSON.

Tensor conventions (what :mod:`policies.export` produces and :mod:`policies.runtime`
checks): the batch axis is always axis 0 and dynamic; image inputs are ``uint8``
``(N, K, H, W, C)`` with K = frame window, oldest first, normalised inside the graph;
state inputs are ``float32 (N, D)``; recurrent state tensors are ``float32 (N, *shape)``
(batch first, even for ``nn.GRU`` layers: such modules transpose internally).

Validation errors are :class:`MetadataError` (a ``ValueError``) naming the dotted field,
e.g. ``metadata field 'observation.height': must be a positive integer, got -3``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np

SCHEMA_VERSION = 1
METADATA_KEY = "asymlearn.metadata"
SCHEMA_VERSION_KEY = "asymlearn.schema_version"

OBSERVATION_KINDS = ("image", "state")
# Which environment observation feeds the input (sim_bridges.api keys); a compact policy
# (A2D (Compact)) reads the partial state, an expert the privileged state.
OBSERVATION_SOURCES = {"image": ("image",), "state": ("state", "partial_state")}
ACTION_KINDS = ("discrete", "continuous")
MODEL_IMAGE_ENCODINGS = {"rgb8": 3, "mono8": 1}
NORMALISATIONS = ("uint8/255", "uint8/255-0.5", "none")
TWIST_FIELDS = ("linear.x", "linear.y", "linear.z", "angular.x", "angular.y", "angular.z")
# ROS message type -> action kinds it can carry.
MESSAGE_TYPES: dict[str, tuple[str, ...]] = {
    "std_msgs/Int32": ("discrete",),
    "std_msgs/Float32MultiArray": ("continuous",),
    "std_msgs/Float64MultiArray": ("continuous",),
    "geometry_msgs/Twist": ("continuous",),
    "trajectory_msgs/JointTrajectory": ("continuous",),
}


class MetadataError(ValueError):
    """Invalid or inconsistent policy metadata; the message names the offending field."""

    def __init__(self, field_path: str, problem: str) -> None:
        self.field = field_path
        super().__init__(f"metadata field '{field_path}': {problem}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _pos_int(value: Any, path: str, allow_zero: bool = False) -> None:
    if not _is_int(value) or value < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise MetadataError(path, f"must be a {kind} integer, got {value!r}")


def _str(value: Any, path: str, allow_empty: bool = False) -> None:
    if not isinstance(value, str) or (not allow_empty and not value):
        raise MetadataError(
            path, f"must be a {'string' if allow_empty else 'non-empty string'}, got {value!r}"
        )


def _choice(value: Any, choices: tuple[str, ...] | list[str], path: str) -> None:
    if value not in choices:
        raise MetadataError(path, f"must be one of {list(choices)}, got {value!r}")


def _float_list(values: Any) -> Any:
    """Tuples/arrays of numbers -> list of floats (JSON-friendly); anything else as is for validate()."""
    if isinstance(values, list | tuple | np.ndarray):
        return [float(v) if _is_num(v) else v for v in values]
    return values


class _Spec:
    """Shared dict conversion: unknown keys are an error (they are usually typos)."""

    _nested: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            raise MetadataError(path, f"must be an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise MetadataError(f"{path}.{unknown[0]}" if path else unknown[0], "unknown field")
        kwargs = {}
        for key, value in data.items():
            nested = cls._nested.get(key)
            sub = f"{path}.{key}" if path else key
            if nested is None or value is None:
                kwargs[key] = value  # None for a nested spec: optional (e.g. no message mapping)
            elif isinstance(nested, list):
                if not isinstance(value, list):
                    raise MetadataError(sub, f"must be a list, got {type(value).__name__}")
                kwargs[key] = [nested[0].from_dict(v, f"{sub}[{i}]") for i, v in enumerate(value)]
            else:
                kwargs[key] = nested.from_dict(value, sub)
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise MetadataError(path or "<root>", str(exc)) from None


@dataclass
class ObservationSpec(_Spec):
    """What the graph's observation input expects.

    For images the graph takes raw ``uint8`` pixels and normalises them itself
    (``normalisation="uint8/255"``), so a runner never has to guess a scaling.
    """

    kind: str
    input_name: str = ""
    encoding: str | None = None
    height: int | None = None
    width: int | None = None
    channels: int | None = None
    frame_window: int = 1
    normalisation: str = ""
    state_dim: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not self.source and self.kind in OBSERVATION_SOURCES:
            self.source = OBSERVATION_SOURCES[self.kind][0]
        if not self.input_name:
            self.input_name = "images" if self.kind == "image" else "state"
        if not self.normalisation:
            self.normalisation = "uint8/255" if self.kind == "image" else "none"
        if self.kind == "image" and self.channels is None and self.encoding in MODEL_IMAGE_ENCODINGS:
            self.channels = MODEL_IMAGE_ENCODINGS[self.encoding]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-sample input shape (without the batch axis)."""
        if self.kind == "image":
            return (self.frame_window, self.height, self.width, self.channels)  # type: ignore[return-value]
        return (self.state_dim,)  # type: ignore[return-value]

    @property
    def dtype(self) -> str:
        return "uint8" if self.kind == "image" else "float32"

    def validate(self, path: str = "observation") -> None:
        _choice(self.kind, OBSERVATION_KINDS, f"{path}.kind")
        _choice(self.source, OBSERVATION_SOURCES[self.kind], f"{path}.source")
        _str(self.input_name, f"{path}.input_name")
        _choice(self.normalisation, NORMALISATIONS, f"{path}.normalisation")
        if self.kind == "image":
            _choice(self.encoding, list(MODEL_IMAGE_ENCODINGS), f"{path}.encoding")
            _pos_int(self.height, f"{path}.height")
            _pos_int(self.width, f"{path}.width")
            expected = MODEL_IMAGE_ENCODINGS[self.encoding]  # type: ignore[index]
            if self.channels != expected:
                raise MetadataError(
                    f"{path}.channels",
                    f"encoding {self.encoding} has {expected} channel(s), got {self.channels!r}",
                )
            _pos_int(self.frame_window, f"{path}.frame_window")
            if self.state_dim is not None:
                raise MetadataError(f"{path}.state_dim", "must be null for an image observation")
        else:
            _pos_int(self.state_dim, f"{path}.state_dim")
            for name in ("encoding", "height", "width", "channels"):
                if getattr(self, name) is not None:
                    raise MetadataError(f"{path}.{name}", "must be null for a state observation")
            if self.frame_window != 1:
                raise MetadataError(
                    f"{path}.frame_window", f"must be 1 for a state observation, got {self.frame_window!r}"
                )
            if self.normalisation != "none":
                raise MetadataError(f"{path}.normalisation", "must be 'none' for a state observation")


@dataclass
class MessageMapping(_Spec):
    """How a ROS node turns the action into a message.

    ``fields`` maps a message field to an action index (``geometry_msgs/Twist``:
    ``{"linear.x": 1, "angular.z": 0}``); ``scales`` multiplies a field's value
    (default 1). For the array/trajectory types the whole action vector is published
    in order and ``scales`` may be keyed by the decimal action index.
    """

    type: str
    fields: dict[str, int] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)

    def validate(self, action_kind: str, size: int, path: str = "action.message") -> None:
        _choice(self.type, list(MESSAGE_TYPES), f"{path}.type")
        if action_kind not in MESSAGE_TYPES[self.type]:
            raise MetadataError(f"{path}.type", f"{self.type} cannot carry a {action_kind} action")
        if not isinstance(self.fields, dict):
            raise MetadataError(f"{path}.fields", "must be an object")
        if not isinstance(self.scales, dict):
            raise MetadataError(f"{path}.scales", "must be an object")
        if self.type == "geometry_msgs/Twist":
            if not self.fields:
                raise MetadataError(f"{path}.fields", "geometry_msgs/Twist needs at least one field mapping")
            allowed: list[str] = list(TWIST_FIELDS)
        else:
            if self.fields:
                raise MetadataError(
                    f"{path}.fields", f"{self.type} publishes the whole vector; fields must be empty"
                )
            allowed = [str(i) for i in range(size)]
        for name, index in self.fields.items():
            _choice(name, allowed, f"{path}.fields key")
            if not _is_int(index) or not 0 <= index < size:
                raise MetadataError(
                    f"{path}.fields.{name}", f"must be an action index in [0, {size}), got {index!r}"
                )
        for name, scale in self.scales.items():
            _choice(name, list(self.fields) if self.fields else allowed, f"{path}.scales key")
            if not _is_num(scale) or not math.isfinite(scale):
                raise MetadataError(f"{path}.scales.{name}", f"must be a finite number, got {scale!r}")


@dataclass
class ActionSpec(_Spec):
    """The graph's outputs: ``action`` (argmax int64 (N,) or clipped mean (N, A)) and
    ``logits``/``mean`` (N, A) float32. Empty ``low``/``high`` means unbounded."""

    kind: str
    size: int
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    message: MessageMapping | None = None
    output_name: str = "action"
    raw_output_name: str = ""

    _nested: ClassVar[dict[str, Any]] = {"message": MessageMapping}

    def __post_init__(self) -> None:
        if not self.raw_output_name:
            self.raw_output_name = "logits" if self.kind == "discrete" else "mean"
        self.low = _float_list(self.low)
        self.high = _float_list(self.high)
        if isinstance(self.names, tuple):
            self.names = list(self.names)

    @property
    def bounded(self) -> bool:
        return bool(self.low)

    def validate(self, path: str = "action") -> None:
        _choice(self.kind, ACTION_KINDS, f"{path}.kind")
        _pos_int(self.size, f"{path}.size")
        _str(self.output_name, f"{path}.output_name")
        _str(self.raw_output_name, f"{path}.raw_output_name")
        if self.output_name == self.raw_output_name:
            raise MetadataError(f"{path}.raw_output_name", "must differ from output_name")
        if self.kind == "discrete" and (self.low or self.high):
            raise MetadataError(f"{path}.low", "must be empty for a discrete action")
        for name in ("low", "high"):
            values = getattr(self, name)
            if not isinstance(values, list):
                raise MetadataError(f"{path}.{name}", "must be a list of numbers")
            if values and len(values) != self.size:
                raise MetadataError(
                    f"{path}.{name}", f"must have {self.size} entries (action.size), got {len(values)}"
                )
            for i, v in enumerate(values):
                if not _is_num(v) or not math.isfinite(v):
                    raise MetadataError(f"{path}.{name}[{i}]", f"must be a finite number, got {v!r}")
        if bool(self.low) != bool(self.high):
            raise MetadataError(
                f"{path}.high" if self.low else f"{path}.low", "low and high must be given together"
            )
        for i, (lo, hi) in enumerate(zip(self.low, self.high, strict=True)):
            if lo > hi:
                raise MetadataError(f"{path}.low[{i}]", f"low {lo} exceeds high {hi}")
        if self.names:
            if not isinstance(self.names, list) or not all(isinstance(n, str) and n for n in self.names):
                raise MetadataError(f"{path}.names", "must be a list of non-empty strings")
            if len(self.names) != self.size:
                raise MetadataError(
                    f"{path}.names", f"must have {self.size} entries (action.size), got {len(self.names)}"
                )
        if self.message is not None:
            self.message.validate(self.kind, self.size, f"{path}.message")
            if self.message.type == "trajectory_msgs/JointTrajectory" and not self.names:
                raise MetadataError(f"{path}.names", "trajectory_msgs/JointTrajectory needs joint names")

    def message_values(self, action: Any) -> int | list[float] | dict[str, float]:
        """Values to put into the mapped ROS message (no ROS import needed here).

        Int32: the action index; arrays/trajectory: the scaled vector; Twist:
        ``{"linear.x": v, ...}`` with scales applied.
        """
        if self.message is None:
            raise MetadataError("action.message", "no message mapping in this model's metadata")
        if self.kind == "discrete":
            return int(np.asarray(action).reshape(()))
        vector = np.asarray(action, dtype=np.float64).reshape(-1)
        if self.message.type == "geometry_msgs/Twist":
            return {
                name: float(vector[index]) * float(self.message.scales.get(name, 1.0))
                for name, index in self.message.fields.items()
            }
        return [float(v) * float(self.message.scales.get(str(i), 1.0)) for i, v in enumerate(vector)]


@dataclass
class RecurrentStateSpec(_Spec):
    """One recurrent state tensor: fed as ``input_name``, returned as ``output_name``,
    per-sample ``shape`` (batch axis 0 excluded), reset to zeros at episode start."""

    input_name: str
    output_name: str
    shape: list[int]
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if isinstance(self.shape, tuple):
            self.shape = list(self.shape)

    def validate(self, path: str) -> None:
        _str(self.input_name, f"{path}.input_name")
        _str(self.output_name, f"{path}.output_name")
        if not isinstance(self.shape, list) or not self.shape:
            raise MetadataError(
                f"{path}.shape", f"must be a non-empty list of positive integers, got {self.shape!r}"
            )
        for i, dim in enumerate(self.shape):
            _pos_int(dim, f"{path}.shape[{i}]")
        _choice(self.dtype, ("float32",), f"{path}.dtype")


@dataclass
class Provenance(_Spec):
    """Where the policy came from; free-form but typed so a dashboard can rely on it."""

    algorithm: str = ""
    environment: str = ""
    seed: int | None = None
    git_commit: str = ""
    evaluation_return: float | None = None
    created: str = ""  # ISO 8601, UTC; filled at export time when empty
    training_env_steps: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self, path: str = "provenance") -> None:
        for name in ("algorithm", "environment", "git_commit", "created"):
            _str(getattr(self, name), f"{path}.{name}", allow_empty=True)
        if self.seed is not None and not _is_int(self.seed):
            raise MetadataError(f"{path}.seed", f"must be an integer or null, got {self.seed!r}")
        if self.training_env_steps is not None:
            _pos_int(self.training_env_steps, f"{path}.training_env_steps", allow_zero=True)
        if self.evaluation_return is not None and (
            not _is_num(self.evaluation_return) or not math.isfinite(self.evaluation_return)
        ):
            raise MetadataError(
                f"{path}.evaluation_return",
                f"must be a finite number or null, got {self.evaluation_return!r}",
            )
        if self.created:
            try:
                datetime.fromisoformat(self.created)
            except ValueError:
                raise MetadataError(
                    f"{path}.created", f"must be an ISO 8601 time, got {self.created!r}"
                ) from None
        if not isinstance(self.extra, dict):
            raise MetadataError(f"{path}.extra", "must be an object")
        try:
            json.dumps(self.extra, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise MetadataError(f"{path}.extra", f"must be JSON-serialisable: {exc}") from None


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class PolicyMetadata(_Spec):
    """Everything a runner needs besides the weights (see the module docstring)."""

    observation: ObservationSpec
    action: ActionSpec
    control_rate_hz: float = 10.0
    recurrent: list[RecurrentStateSpec] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)
    schema_version: int = SCHEMA_VERSION

    _nested: ClassVar[dict[str, Any]] = {
        "observation": ObservationSpec,
        "action": ActionSpec,
        "recurrent": [RecurrentStateSpec],
        "provenance": Provenance,
    }

    @property
    def input_names(self) -> list[str]:
        return [self.observation.input_name] + [r.input_name for r in self.recurrent]

    @property
    def output_names(self) -> list[str]:
        return [self.action.output_name, self.action.raw_output_name] + [
            r.output_name for r in self.recurrent
        ]

    @property
    def is_recurrent(self) -> bool:
        return bool(self.recurrent)

    def validate(self) -> PolicyMetadata:
        """Raise :class:`MetadataError` on the first bad field; return self for chaining."""
        if self.schema_version != SCHEMA_VERSION:
            raise MetadataError(
                "schema_version",
                f"this asymlearn reads schema {SCHEMA_VERSION}, the model has {self.schema_version!r}",
            )
        for name, cls in (
            ("observation", ObservationSpec),
            ("action", ActionSpec),
            ("provenance", Provenance),
        ):
            if not isinstance(getattr(self, name), cls):
                raise MetadataError(name, f"must be a {cls.__name__}")
        self.observation.validate()
        self.action.validate()
        if (
            not _is_num(self.control_rate_hz)
            or not math.isfinite(self.control_rate_hz)
            or self.control_rate_hz <= 0
        ):
            raise MetadataError("control_rate_hz", f"must be a positive number, got {self.control_rate_hz!r}")
        if not isinstance(self.recurrent, list):
            raise MetadataError("recurrent", "must be a list")
        for i, spec in enumerate(self.recurrent):
            spec.validate(f"recurrent[{i}]")
        self.provenance.validate()
        inputs, outputs = self.input_names, self.output_names
        if len(set(inputs)) != len(inputs):
            raise MetadataError("recurrent", f"input names must be unique, got {inputs}")
        if len(set(outputs)) != len(outputs):
            raise MetadataError("recurrent", f"output names must be unique, got {outputs}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """Validated, compact JSON (finite numbers only: strict JSON parsers reject NaN)."""
        self.validate()
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> PolicyMetadata:  # type: ignore[override]
        if isinstance(data, dict) and data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise MetadataError(
                "schema_version",
                f"this asymlearn reads schema {SCHEMA_VERSION}, the model has {data.get('schema_version')!r}",
            )
        meta = super().from_dict(data, path)
        return meta.validate()

    @classmethod
    def from_json(cls, text: str | bytes) -> PolicyMetadata:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetadataError("<json>", f"not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_metadata_props(self) -> dict[str, str]:
        """The key/value pairs written into ``ModelProto.metadata_props``."""
        return {METADATA_KEY: self.to_json(), SCHEMA_VERSION_KEY: str(self.schema_version)}

    @classmethod
    def from_metadata_props(cls, props: dict[str, str]) -> PolicyMetadata:
        if METADATA_KEY not in props:
            raise MetadataError(METADATA_KEY, "missing: this ONNX file was not exported by asymlearn")
        version = props.get(SCHEMA_VERSION_KEY)
        if version is not None and version != str(SCHEMA_VERSION):
            raise MetadataError(
                "schema_version", f"this asymlearn reads schema {SCHEMA_VERSION}, the model has {version}"
            )
        return cls.from_json(props[METADATA_KEY])
