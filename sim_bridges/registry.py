"""Environments by name, so configs, the CLI and ROS parameters can refer to them as strings.

Entries are imported lazily: asking for a gridworld must not import MuJoCo or CARLA.
"""

from __future__ import annotations

import importlib
from typing import Any

from sim_bridges.api import AsymmetricEnv, BatchedEnv

# name -> ("module:single-env factory", "module:batched-env factory" or None)
_GRID = "sim_bridges.gridworld.envs"
_ENTRIES: dict[str, tuple[str, str | None]] = {
    "tiger_door": (f"{_GRID}:make_tiger_door", f"{_GRID}:make_tiger_door_batched"),
    "frozen_lake": (f"{_GRID}:make_frozen_lake", f"{_GRID}:make_frozen_lake_batched"),
    "tiger_door_1": (f"{_GRID}:make_tiger_door_osc1", f"{_GRID}:make_tiger_door_osc1_batched"),
    "tiger_door_2": (f"{_GRID}:make_tiger_door_osc2", f"{_GRID}:make_tiger_door_osc2_batched"),
    "tiger_door_3": (f"{_GRID}:make_tiger_door_osc3", f"{_GRID}:make_tiger_door_osc3_batched"),
    "occluded_pedestrian": ("sim_bridges.driving.env:OccludedPedestrianEnv", None),
    "carla_occluded_pedestrian": ("sim_bridges.carla.env:make_carla_occluded_pedestrian", None),
    "dclaw_turn": ("sim_bridges.dclaw.env:make_dclaw_turn", None),
    "dclaw_screw": ("sim_bridges.dclaw.env:make_dclaw_screw", None),
    "cartpole_swingup": ("sim_bridges.dmc.env:make_cartpole_swingup", None),
    "cartpole_balance": ("sim_bridges.dmc.env:make_cartpole_balance", None),
    "reacher_easy": ("sim_bridges.dmc.env:make_reacher_easy", None),
    "point_mass_easy": ("sim_bridges.dmc.env:make_point_mass_easy", None),
    "walker_walk": ("sim_bridges.dmc.env:make_walker_walk", None),
    "cheetah_run": ("sim_bridges.dmc.env:make_cheetah_run", None),
    "car_racing": ("sim_bridges.car_racing.env:CarRacingEnv", None),
}


def available() -> list[str]:
    """Names accepted by make() and make_batched()."""
    return sorted(_ENTRIES)


def _resolve(target: str) -> Any:
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def _entry(name: str) -> tuple[str, str | None]:
    try:
        return _ENTRIES[name]
    except KeyError:
        raise ValueError(f"unknown environment {name!r}; available: {', '.join(available())}") from None


def make(name: str, **kwargs: Any) -> AsymmetricEnv:
    """One environment instance."""
    return _resolve(_entry(name)[0])(**kwargs)


def make_batched(name: str, num_envs: int, **kwargs: Any) -> BatchedEnv:
    """N copies stepped together: natively vectorised where the env has it, else serially."""
    single, batched = _entry(name)
    if batched is not None:
        return _resolve(batched)(num_envs=num_envs, **kwargs)
    from sim_bridges.batched import SerialBatchedEnv

    return SerialBatchedEnv([_resolve(single)(**kwargs) for _ in range(num_envs)])
