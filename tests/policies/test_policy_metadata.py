"""Metadata: JSON round trip, and validation errors that name the bad field."""

from __future__ import annotations

import json

import pytest
from conftest import image_metadata, state_metadata

from policies.metadata import (
    METADATA_KEY,
    SCHEMA_VERSION_KEY,
    MetadataError,
    PolicyMetadata,
    RecurrentStateSpec,
)


@pytest.mark.parametrize(
    "meta",
    [
        image_metadata("discrete"),
        image_metadata("continuous", encoding="mono8"),
        state_metadata("discrete"),
        state_metadata("continuous", recurrent=[RecurrentStateSpec("h", "h_out", [2, 12])]),
    ],
    ids=["image-discrete", "image-continuous", "state-discrete", "state-recurrent"],
)
def test_round_trip(meta: PolicyMetadata) -> None:
    text = meta.to_json()
    back = PolicyMetadata.from_json(text)
    assert back == meta
    assert back.to_json() == text
    props = meta.to_metadata_props()
    assert set(props) == {METADATA_KEY, SCHEMA_VERSION_KEY}
    assert PolicyMetadata.from_metadata_props(props) == meta


def test_defaults_and_derived_fields() -> None:
    meta = image_metadata("discrete")
    assert meta.observation.input_name == "images"
    assert meta.observation.channels == 3
    assert meta.observation.normalisation == "uint8/255"
    assert meta.observation.input_shape == (2, 42, 42, 3)
    assert meta.action.raw_output_name == "logits"
    assert meta.output_names == ["action", "logits"]
    rec = state_metadata("continuous", recurrent=[RecurrentStateSpec("h", "h_out", [12])])
    assert rec.input_names == ["state", "h"] and rec.output_names == ["action", "mean", "h_out"]
    assert rec.action.raw_output_name == "mean"


def test_twist_message_values() -> None:
    meta = image_metadata("continuous")
    assert meta.action.message_values([0.25, -1.0]) == {"linear.x": -1.0, "angular.z": 0.5}
    assert image_metadata("discrete").action.message_values(2) == 2


def _mutated(path: str, value: object) -> str:
    data = json.loads(image_metadata("continuous").to_json())
    node = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("observation.height", -3, "observation.height"),
        ("observation.encoding", "yuv422", "observation.encoding"),
        ("observation.channels", 1, "observation.channels"),
        ("observation.kind", "lidar", "observation.kind"),
        ("observation.frame_window", 0, "observation.frame_window"),
        ("observation.state_dim", 4, "observation.state_dim"),
        ("action.kind", "hybrid", "action.kind"),
        ("action.size", 0, "action.size"),
        ("action.low", [-1.0], "action.low"),
        ("action.high", [0.5, "x"], "action.high[1]"),
        ("action.names", ["a"], "action.names"),
        ("action.message.type", "std_msgs/String", "action.message.type"),
        ("action.message.fields", {"linear.w": 0}, "action.message.fields key"),
        ("action.message.fields", {"linear.x": 5}, "action.message.fields.linear.x"),
        ("control_rate_hz", 0, "control_rate_hz"),
        ("provenance.created", "yesterday", "provenance.created"),
        ("provenance.seed", 1.5, "provenance.seed"),
        ("schema_version", 99, "schema_version"),
        ("observation.colour", "x", "observation.colour"),
    ],
)
def test_validation_names_field(path: str, value: object, field: str) -> None:
    with pytest.raises(MetadataError) as info:
        PolicyMetadata.from_json(_mutated(path, value))
    assert info.value.field == field
    assert f"'{field}'" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_invalid_combinations() -> None:
    meta = image_metadata("discrete")
    meta.action.message = None
    meta.action.low, meta.action.high = [0.0] * 4, [1.0] * 4
    with pytest.raises(MetadataError, match=r"action\.low"):
        meta.validate()
    cont = image_metadata("continuous")
    cont.action.low = [1.0, 0.0]
    with pytest.raises(MetadataError, match=r"action.low\[0\]"):
        cont.validate()
    disc = image_metadata("discrete")
    disc.action.message.type = "geometry_msgs/Twist"  # type: ignore[union-attr]
    with pytest.raises(MetadataError, match="cannot carry a discrete action"):
        disc.validate()
    rec = state_metadata("continuous", recurrent=[RecurrentStateSpec("state", "h_out", [4])])
    with pytest.raises(MetadataError, match="unique"):
        rec.validate()
    with pytest.raises(MetadataError, match=r"recurrent\[0\].shape"):
        state_metadata("continuous", recurrent=[RecurrentStateSpec("h", "h_out", [])]).validate()


def test_bad_json_and_missing_key() -> None:
    with pytest.raises(MetadataError, match="not valid JSON"):
        PolicyMetadata.from_json("{nope")
    with pytest.raises(MetadataError, match="not exported by asymlearn"):
        PolicyMetadata.from_metadata_props({})
    with pytest.raises(MetadataError, match="observation"):
        PolicyMetadata.from_json(json.dumps({"action": {"kind": "discrete", "size": 2}}))
    nan = image_metadata("continuous")
    nan.provenance.evaluation_return = float("nan")
    with pytest.raises(MetadataError, match=r"provenance\.evaluation_return"):
        nan.to_json()
