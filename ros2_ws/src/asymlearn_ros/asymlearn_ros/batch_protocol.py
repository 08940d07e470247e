"""The lockstep protocol between the online trainer and the batch bridges, in standard messages.

Why standard messages (not an interface package): they need no build step on pip-only
machines, every ROS tool can echo them, and what the protocol needs beyond them (which
simulation step a message belongs to) fits the fields they already have.

Every message of one bridge step carries the bridge's TICK, a step counter the trainer
chooses (reset) and advances (each action), so the trainer pairs image, privileged state
and reward of the same simulation step by tick and never by arrival order:

* images (sensor_msgs/Image): the K copies stacked along the height (K*H rows); the header
  stamp is simulation time ``tick * period`` (see :func:`tick_stamp` / :func:`stamp_tick`);
* arrays (std_msgs/Float32MultiArray / Int64MultiArray): ``layout.dim[0].label`` is
  ``"tick=T"`` (and ``";copies=i,j"`` for final observations of finished copies);
  ``dim[0].size`` is the number of rows.

Topics, relative to the bridge's namespace (``/bridge0/...``):

=============================== ======================= ==========================================
``reset`` (sub)                 Int64MultiArray         tick T; data = one seed per copy, or empty
                                                        (continue each copy's random stream)
``actions`` (sub)               Float32MultiArray       tick T of the observation acted on; K rows
``image_batch``                 Image                   observation of tick T (after autoreset)
``privileged_state_batch``      Float32MultiArray       K x state_dim
``partial_state_batch``         Float32MultiArray       K x partial_state_dim (if the env has it)
``step_batch``                  Float32MultiArray       K x 3: reward, terminated, truncated
``final_image_batch`` etc.      (as above)              pre-reset observation of finished copies
``env_info`` (latched)          String (JSON)           EnvInfo, num_envs, observation keys
=============================== ======================= ==========================================
"""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from std_msgs.msg import Float32MultiArray, Int64MultiArray, MultiArrayDimension

# observation key -> topic suffix of the per-key message
OBS_TOPICS = {
    "image": "image_batch",
    "state": "privileged_state_batch",
    "partial_state": "partial_state_batch",
}
STEP_TOPIC = "step_batch"
FINAL_PREFIX = "final_"
RESET_TOPIC = "reset"
ACTIONS_TOPIC = "actions"
INFO_TOPIC = "env_info"
_NS = 1_000_000_000


def period_ns(rate_hz: float) -> int:
    """Simulation time between two ticks, in whole nanoseconds (so stamps convert back exactly)."""
    if rate_hz <= 0:
        raise ValueError(f"control rate must be positive, got {rate_hz}")
    return round(_NS / rate_hz)


def tick_stamp(tick: int, rate_hz: float) -> Time:
    nanos = int(tick) * period_ns(rate_hz)
    return Time(sec=nanos // _NS, nanosec=nanos % _NS)


def stamp_tick(stamp: Time, rate_hz: float) -> int:
    nanos = int(stamp.sec) * _NS + int(stamp.nanosec)
    return round(nanos / period_ns(rate_hz))


def tick_label(tick: int, copies: list[int] | None = None) -> str:
    label = f"tick={int(tick)}"
    if copies is not None:
        label += ";copies=" + ",".join(str(int(c)) for c in copies)
    return label


def parse_tick_label(label: str) -> tuple[int, list[int] | None]:
    """``"tick=7;copies=0,3"`` -> ``(7, [0, 3])``; raises ValueError naming a malformed label."""
    try:
        fields = dict(part.split("=", 1) for part in label.split(";") if part)
        tick = int(fields["tick"])
        copies = fields.get("copies")
        return tick, (None if copies is None else [int(c) for c in copies.split(",") if c])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"malformed tick label {label!r}") from exc


def rows_msg(values: np.ndarray, label: str, msg_type: type = Float32MultiArray):
    """A (rows, ...) array as a labelled MultiArray (rows first, then the flattened rest)."""
    dtype = np.int64 if msg_type is Int64MultiArray else np.float32
    arr = np.asarray(values, dtype)
    rows = int(arr.shape[0]) if arr.ndim else 0
    width = int(arr.size // rows) if rows else 0
    msg = msg_type()
    msg.layout.dim = [
        MultiArrayDimension(label=label, size=rows, stride=int(arr.size)),
        MultiArrayDimension(label="values", size=width, stride=width),
    ]
    msg.data = arr.reshape(-1)
    return msg


def rows_from_msg(msg) -> tuple[str, np.ndarray]:
    """(label, rows x width array) of a message built by :func:`rows_msg`; ValueError if inconsistent."""
    if len(msg.layout.dim) != 2:
        raise ValueError(f"expected a 2-d labelled array, got {len(msg.layout.dim)} dims")
    rows, width = int(msg.layout.dim[0].size), int(msg.layout.dim[1].size)
    data = np.asarray(msg.data)
    if data.size != rows * width:
        raise ValueError(f"array has {data.size} values, layout says {rows} x {width}")
    return msg.layout.dim[0].label, data.reshape(rows, width)
