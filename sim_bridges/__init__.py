"""Simulators behind one asymmetric environment API (camera image + privileged state)."""

import os

# MuJoCo chooses its GL backend when it is first imported; without this it tries a window
# and crashes on a headless machine. EGL works with the Mesa libraries setup.sh ensures.
os.environ.setdefault("MUJOCO_GL", "egl")


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
