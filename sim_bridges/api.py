"""The asymmetric environment API shared by every simulator, algorithm and ROS bridge.

An asymmetric environment gives two views of one world: the camera image the robot
will have, and the privileged state only the simulator knows. Algorithms such as A2D
train an expert on the state and a trainee on the image; deployment only ever sees the
image. Keeping both views behind one API lets the same training and ROS code run on a
gridworld, the embedded driving scenario or a CARLA server.

Conventions (every environment follows them):

* ``obs`` is a dict:
    - ``"image"``: ``uint8`` array, HxWxC (C = 3 for ``rgb8``, 1 for ``mono8``), exactly the
      bytes a camera would publish. Keeping images in uint8 end to end makes a closed loop
      through ROS bit-identical to an in-process rollout.
    - ``"state"``: ``float32`` vector, the full privileged state (expert input).
    - ``"partial_state"`` (optional): ``float32`` vector, a compact encoding of what the
      camera can reveal (the A2D (Compact) trainee input).
* ``step`` returns ``(obs, reward, terminated, truncated, info)`` (gymnasium >= 0.26).
  ``terminated`` means a true end of the task (goal, hazard, collision); ``truncated``
  a time limit.
* Batched environments (``BatchedEnv``) hold N copies, take an (N, ...) action array and
  reset finished copies automatically; the observation returned for a finished copy is
  the first of its next episode, and the last one is in ``info["final_obs"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

IMAGE = "image"
STATE = "state"
PARTIAL_STATE = "partial_state"

Obs = dict[str, np.ndarray]


@dataclass(frozen=True)
class EnvInfo:
    """Static facts about an environment that exporters and ROS nodes need."""

    name: str
    image_encoding: str  # "rgb8" or "mono8"
    image_shape: tuple[int, int, int]  # (height, width, channels)
    state_dim: int
    partial_state_dim: int | None
    discrete_actions: int | None  # number of actions, or None for continuous
    action_dim: int  # 1 for discrete
    action_low: tuple[float, ...] = ()
    action_high: tuple[float, ...] = ()
    action_names: tuple[str, ...] = ()
    control_rate_hz: float = 10.0
    horizon: int = 100
    # Known reference returns (e.g. optimal MDP / POMDP), for plots and sanity checks.
    reference_returns: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class AsymmetricEnv(Protocol):
    """One environment instance with camera and privileged observations."""

    info: EnvInfo
    observation_space: gym.spaces.Dict
    action_space: gym.spaces.Space

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]: ...

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict]: ...

    def render_privileged(self) -> np.ndarray:
        """An RGB uint8 picture of the full world (for docs and debugging only)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BatchedEnv(Protocol):
    """N copies stepped together, with automatic reset of finished copies."""

    info: EnvInfo
    num_envs: int
    single_observation_space: gym.spaces.Dict
    single_action_space: gym.spaces.Space

    def reset(self, *, seed: int | None = None) -> tuple[Obs, dict]: ...

    def step(self, actions: np.ndarray) -> tuple[Obs, np.ndarray, np.ndarray, np.ndarray, dict]: ...

    def close(self) -> None: ...


def observation_space_for(info: EnvInfo) -> gym.spaces.Dict:
    """The gymnasium Dict space matching an EnvInfo."""
    spaces: dict[str, gym.spaces.Space] = {
        IMAGE: gym.spaces.Box(0, 255, info.image_shape, np.uint8),
        STATE: gym.spaces.Box(-np.inf, np.inf, (info.state_dim,), np.float32),
    }
    if info.partial_state_dim is not None:
        spaces[PARTIAL_STATE] = gym.spaces.Box(-np.inf, np.inf, (info.partial_state_dim,), np.float32)
    return gym.spaces.Dict(spaces)


def action_space_for(info: EnvInfo) -> gym.spaces.Space:
    """The gymnasium action space matching an EnvInfo."""
    if info.discrete_actions is not None:
        return gym.spaces.Discrete(info.discrete_actions)
    return gym.spaces.Box(
        np.asarray(info.action_low, np.float32), np.asarray(info.action_high, np.float32), dtype=np.float32
    )
