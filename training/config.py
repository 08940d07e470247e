"""Named training presets from one YAML file, with dotted command-line overrides.

``training/configs/presets.yaml`` holds a ``defaults`` block and named presets that override
it (dreamerv3 style). A run's config = defaults ← preset(s) in order ← ``--set a.b=value``
overrides (values parsed as YAML, so ``1e-3``, ``true`` and ``[64, 64]`` work).
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import yaml

PRESETS_FILE = Path(__file__).resolve().parent / "configs" / "presets.yaml"
FREE_FORM = ("env_kwargs",)  # sections whose keys are not fixed by the defaults


class Config(dict):
    """A nested dict with attribute access (``cfg.a2d.beta_decay``); plain data, YAML round-trips."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def to_dict(self) -> dict[str, Any]:
        return {k: v.to_dict() if isinstance(v, Config) else copy.deepcopy(v) for k, v in self.items()}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Config({k: _wrap(v) for k, v in value.items()})
    return value


def deep_merge(base: dict[str, Any], override: dict[str, Any], path: str = "") -> dict[str, Any]:
    """``base`` updated recursively by ``override``; unknown keys are an error (catches typos)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        where = f"{path}{k}"
        if k not in out and not where.startswith(FREE_FORM):
            raise KeyError(f"unknown config key {where!r}")
        if isinstance(out.get(k), dict) and isinstance(v, dict):
            out[k] = deep_merge(out[k], v, where + ".")
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_presets(path: Path | str = PRESETS_FILE) -> dict[str, Any]:
    with open(path) as f:
        data = yaml.safe_load(f)
    if "defaults" not in data:
        raise ValueError(f"{path}: no 'defaults' block")
    return data


def preset_names(path: Path | str = PRESETS_FILE) -> list[str]:
    return [k for k in load_presets(path) if k != "defaults"]


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ValueError(f"override {text!r} is not of the form key.sub=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw)
    if isinstance(value, str):  # YAML 1.1 reads "3e-4" as a string; take it as the number meant
        with contextlib.suppress(ValueError):
            value = float(value)
    return key.strip().split("."), value


def apply_overrides(cfg: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        keys, value = parse_override(text)
        node = cfg
        for k in keys[:-1]:
            if k not in node or not isinstance(node[k], dict):
                raise KeyError(f"unknown config key {'.'.join(keys)!r}")
            node = node[k]
        if keys[-1] not in node and keys[0] not in FREE_FORM:
            raise KeyError(f"unknown config key {'.'.join(keys)!r}")
        node[keys[-1]] = value
    return cfg


def make_config(
    presets: str | list[str], overrides: list[str] | None = None, path: Path | str = PRESETS_FILE
) -> Config:
    """defaults ← each named preset (comma-separated or a list) ← dotted overrides."""
    data = load_presets(path)
    names = [p for p in (presets.split(",") if isinstance(presets, str) else presets) if p]
    cfg = copy.deepcopy(data["defaults"])
    for name in names:
        if name not in data or name == "defaults":
            raise KeyError(
                f"unknown preset {name!r}; available: {', '.join(k for k in data if k != 'defaults')}"
            )
        cfg = deep_merge(cfg, data[name] or {})
    cfg["preset"] = ",".join(names)
    cfg = apply_overrides(cfg, list(overrides or []))
    return _wrap(cfg)


# Keys a continued run may change: its length, threads, logging and evaluation do not alter
# the training updates already in the checkpoint.
RESUME_FREE = ("preset", "total_steps", "threads", "log", "eval")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and not f"{prefix}{k}".startswith(FREE_FORM):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


class ResumeConflictError(ValueError):
    """A run directory's checkpoint was trained under other hyperparameters than the ones asked for."""


def resume_conflicts(stored: dict[str, Any], requested: dict[str, Any]) -> list[str]:
    """Dotted keys whose value differs between a checkpoint's config and the one asked to continue it.

    Why: continuing a run under other hyperparameters silently mixes two experiments. Keys an
    older checkpoint lacks count as their current defaults (configs gain keys over time).
    """
    defaults = _flatten(load_presets()["defaults"])
    old, new = _flatten(stored), _flatten(requested)
    out = []
    for key in sorted(set(old) | set(new)):
        if key.split(".")[0] in RESUME_FREE:
            continue
        a = old.get(key, defaults.get(key))
        b = new.get(key, defaults.get(key))
        if a != b:
            out.append(f"{key}: {a!r} in the checkpoint, {b!r} now")
    return out


def config_from_yaml(text: str) -> Config:
    return _wrap(yaml.safe_load(text))
