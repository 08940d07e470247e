"""Policy action <-> standard ROS message, both directions.

The policy node encodes with :class:`ActionEncoder`; the sim bridge decodes with
:func:`decode_action`. Supported types (the names are the parameter values):

* ``std_msgs/Int32``: discrete action index;
* ``std_msgs/Float32MultiArray`` / ``std_msgs/Float64MultiArray``: the whole vector in
  order (Float64MultiArray is what ros2_control forward controllers take);
* ``geometry_msgs/Twist``: fields mapped from action indices (``"linear.x=1,angular.z=0"``)
  with optional scales; unmapped fields are 0;
* ``vehicle_control``: a std_msgs/Float32MultiArray ``[throttle, steer, brake]`` in CARLA's
  conventions (carla-ros-bridge's ``vehicle_control_cmd`` without carla_msgs), converted
  from/to the driving action ``[steer, pedal]`` by :mod:`asymlearn_ros.carla_topics`.

Scaling and field mapping reuse :meth:`policies.metadata.ActionSpec.message_values`, so a
model's embedded mapping and a parameter override behave the same.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from geometry_msgs.msg import Twist
from std_msgs.msg import Float32MultiArray, Float64MultiArray, Int32

from asymlearn_ros.carla_topics import action_to_control, control_message, control_to_action
from policies.metadata import TWIST_FIELDS, ActionSpec, MessageMapping

VEHICLE_CONTROL = "vehicle_control"

MESSAGE_CLASSES: dict[str, type] = {
    "std_msgs/Int32": Int32,
    "std_msgs/Float32MultiArray": Float32MultiArray,
    "std_msgs/Float64MultiArray": Float64MultiArray,
    "geometry_msgs/Twist": Twist,
}


def message_class(name: str) -> type:
    """The ROS class that carries actions named ``name`` (a MESSAGE_CLASSES key or vehicle_control)."""
    if name == VEHICLE_CONTROL:
        return Float32MultiArray
    try:
        return MESSAGE_CLASSES[name]
    except KeyError:
        choices = sorted([*MESSAGE_CLASSES, VEHICLE_CONTROL])
        raise ValueError(f"action_message {name!r} not supported; choose from {choices}") from None


def parse_mapping(text: str, kind: str = "fields") -> dict[str, Any]:
    """``"linear.x=1, angular.z=0"`` -> ``{"linear.x": 1, "angular.z": 0}`` (ints for fields,
    floats for scales). An empty string gives an empty dict."""
    out: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"bad {kind} entry {item!r}: expected NAME=VALUE")
        out[key.strip()] = int(value) if kind == "fields" else float(value)
    return out


def resolve_mapping(
    spec: ActionSpec, message_type: str, twist_fields: str = "", twist_scales: str = ""
) -> ActionSpec:
    """The ActionSpec whose message mapping the node will use.

    ``message_type`` "auto" keeps the model's own mapping (or Int32 / Float32MultiArray
    when it has none); an explicit type, or Twist field/scale strings, override it. The
    result is validated (e.g. Int32 for a continuous policy raises MetadataError).
    """
    embedded = spec.message
    if message_type in ("", "auto"):
        if embedded is not None and not (twist_fields or twist_scales):
            return spec
        message_type = (
            embedded.type
            if embedded
            else ("std_msgs/Int32" if spec.kind == "discrete" else "std_msgs/Float32MultiArray")
        )
    if message_type not in MESSAGE_CLASSES:
        raise ValueError(
            f"action_message {message_type!r} not supported; choose from {sorted(MESSAGE_CLASSES)}"
        )
    fields: dict[str, int] = {}
    scales: dict[str, float] = {}
    if message_type == "geometry_msgs/Twist":
        same = embedded is not None and embedded.type == message_type
        fields = parse_mapping(twist_fields) if twist_fields else (dict(embedded.fields) if same else {})
        scales = (
            parse_mapping(twist_scales, "scales") if twist_scales else (dict(embedded.scales) if same else {})
        )
        if not fields:
            fields = {name: i for name, i in zip(("linear.x", "angular.z"), range(spec.size), strict=False)}
    elif embedded is not None and embedded.type == message_type:
        scales = dict(embedded.scales)
    resolved = dataclasses.replace(
        spec, message=MessageMapping(type=message_type, fields=fields, scales=scales)
    )
    resolved.validate()
    return resolved


class ActionEncoder:
    """Turns policy actions into one reusable message object (no per-call allocation of
    the message itself; the caller publishes it before the next encode)."""

    def __init__(self, spec: ActionSpec, vehicle_control: bool = False) -> None:
        """``vehicle_control``: publish [throttle, steer, brake] instead of the [steer, pedal] action."""
        assert spec.message is not None
        if vehicle_control and (spec.kind != "continuous" or spec.size != 2):
            raise ValueError(
                f"{VEHICLE_CONTROL} needs a continuous [steer, pedal] action, the model has "
                f"{spec.kind}[{spec.size}]"
            )
        self.spec = spec
        self.vehicle_control = vehicle_control
        self.type_name = VEHICLE_CONTROL if vehicle_control else spec.message.type
        self.msg_class = message_class(self.type_name)
        self._msg = self.msg_class()
        self._twist_fields = [(name.split(".")[0], name.split(".")[1]) for name in TWIST_FIELDS]

    def encode(self, action: Any, out: Any = None) -> Any:
        """Fill ``out`` (default: the encoder's reusable message) with ``action``."""
        values = self.spec.message_values(action)
        msg = self._msg if out is None else out
        if self.vehicle_control:
            return control_message(action_to_control(np.asarray(values)), msg)
        if self.type_name == "std_msgs/Int32":
            msg.data = int(values)  # type: ignore[arg-type]
        elif self.type_name == "geometry_msgs/Twist":
            for part, axis in self._twist_fields:
                setattr(getattr(msg, part), axis, float(values.get(f"{part}.{axis}", 0.0)))  # type: ignore[union-attr]
        else:
            msg.data = values  # type: ignore[assignment]
        return msg

    def safe(self, safe_action: list[float]) -> Any:
        """A new message for the configured safe action (empty list: zero / index 0)."""
        if self.spec.kind == "discrete":
            return self.encode(int(safe_action[0]) if safe_action else 0, self.msg_class())
        vector = np.zeros(self.spec.size, np.float32)
        if safe_action:
            if len(safe_action) != self.spec.size:
                raise ValueError(
                    f"safe_action has {len(safe_action)} values, the action has {self.spec.size}"
                )
            vector[:] = safe_action
        return self.encode(vector, self.msg_class())


def decode_action(
    msg: Any,
    discrete: bool,
    action_dim: int,
    twist_fields: dict[str, int] | None = None,
    twist_scales: dict[str, float] | None = None,
    vehicle_control: bool = False,
) -> int | np.ndarray:
    """A received action message -> env action (int, or float32 (action_dim,)).

    Raises ValueError for a message that does not fit the environment's action space
    (wrong type or length, non-finite values). ``vehicle_control`` decodes a
    Float32MultiArray [throttle, steer, brake] (see :mod:`asymlearn_ros.carla_topics`).
    """
    if isinstance(msg, Int32):
        if not discrete:
            raise ValueError("received std_msgs/Int32 for a continuous action space")
        return int(msg.data)
    if vehicle_control:
        if discrete or action_dim != 2:
            raise ValueError(f"{VEHICLE_CONTROL} needs a 2-d [steer, pedal] action space")
        return control_to_action(np.asarray(msg.data))
    if isinstance(msg, Twist):
        fields = twist_fields or {"linear.x": 0, "angular.z": 1}
        scales = twist_scales or {}
        vector = np.zeros(action_dim, np.float32)
        for name, index in fields.items():
            part, axis = name.split(".")
            vector[index] = getattr(getattr(msg, part), axis) / scales.get(name, 1.0)
        _check_finite(vector)
        return int(vector[0]) if discrete else vector
    values = np.asarray(msg.data, dtype=np.float32)
    _check_finite(values)
    if discrete:
        if values.size != 1:
            raise ValueError(f"discrete action needs 1 value, got {values.size}")
        return int(values[0])
    if values.size != action_dim:
        raise ValueError(f"continuous action needs {action_dim} values, got {values.size}")
    return values


def _check_finite(values: np.ndarray) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"action has non-finite values {np.asarray(values).tolist()}")
