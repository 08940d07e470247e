"""Simulators behind one asymmetric environment API (camera image + privileged state)."""

from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE, AsymmetricEnv, BatchedEnv, EnvInfo
from sim_bridges.registry import available, make, make_batched

__all__ = [
    "IMAGE",
    "PARTIAL_STATE",
    "STATE",
    "AsymmetricEnv",
    "BatchedEnv",
    "EnvInfo",
    "available",
    "make",
    "make_batched",
]
