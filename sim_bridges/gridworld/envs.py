"""The gridworlds behind the AsymmetricEnv / BatchedEnv API, and the registry's factories.

``GridWorldBatchedEnv`` is the native implementation (N copies, array ops, autoreset);
``GridWorldEnv`` is a batch of one behind the single-env protocol. Seeding: copy i of a
batch reset with seed s behaves exactly like a single env reset with seed s + i (or pass a
list of per-copy seeds), so batched and unbatched rollouts can be compared bit for bit.

Options: ``noise=False`` gives clean images; ``render_images=False`` skips rendering
entirely for state-only runs, and the "image" key is then absent from observations and
from the observation space (a loud KeyError beats silently training on blank frames).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from sim_bridges.api import IMAGE, EnvInfo, Obs, action_space_for, observation_space_for
from sim_bridges.gridworld.core import GridCore
from sim_bridges.gridworld.layouts import ACTION_NAMES, HORIZON, SPECS, GridSpec


def env_info(spec: GridSpec) -> EnvInfo:
    """The static EnvInfo of a gridworld."""
    return EnvInfo(
        name=spec.name,
        image_encoding="rgb8",
        image_shape=spec.image_shape,
        state_dim=spec.state_dim,
        partial_state_dim=spec.partial_state_dim,
        discrete_actions=4,
        action_dim=1,
        action_names=ACTION_NAMES,
        control_rate_hz=10.0,
        horizon=HORIZON,
        reference_returns=dict(spec.reference_returns),
    )


def _observation_space(info: EnvInfo, render_images: bool) -> gym.spaces.Dict:
    space = observation_space_for(info)
    if not render_images:
        space = gym.spaces.Dict({k: v for k, v in space.spaces.items() if k != IMAGE})
    return space


def _layout_option(options: dict | None) -> int | None:
    """reset(options={"layout": k}) forces layout k (exhaustive evaluation and tests)."""
    if not options or options.get("layout") is None:
        return None
    return int(options["layout"])


class GridWorldBatchedEnv:
    """N copies of one gridworld stepped together, with automatic reset of finished copies."""

    def __init__(self, spec: GridSpec, num_envs: int, *, render_images: bool = True, noise: bool = True):
        self.spec = spec
        self.core = GridCore(spec, num_envs, render_images=render_images, noise=noise)
        self.num_envs = num_envs
        self.info = env_info(spec)
        self.single_observation_space = _observation_space(self.info, render_images)
        self.single_action_space = action_space_for(self.info)

    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: dict | None = None
    ) -> tuple[Obs, dict]:
        """Reset all copies; copy i is seeded with seed + i (or seed[i] for a sequence)."""
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if np.isscalar(seed) else list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"need {self.num_envs} seeds, got {len(seeds)}")
            for i, s in enumerate(seeds):
                self.core.seed(i, int(s))
        self.core.reset(range(self.num_envs), layout=_layout_option(options))
        return self.core.observe(), self._info_arrays()

    def step(self, actions: np.ndarray) -> tuple[Obs, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step all copies. Finished copies are reset; their last obs is in info["final_obs"][i]."""
        core = self.core
        reward, terminated, truncated, success, hazard = core.step(actions)
        info = {"success": success, "hazard": hazard, **self._info_arrays()}
        obs = core.observe()
        done = np.flatnonzero(terminated | truncated)
        final_obs: dict[int, Obs] = {}
        if done.size:
            final_obs = {int(i): {k: v[i].copy() for k, v in obs.items()} for i in done}
            core.reset(done)
            fresh = core.observe(done)
            for k, v in fresh.items():
                obs[k][done] = v
        info["final_obs"] = final_obs
        return obs, reward, terminated, truncated, info

    def _info_arrays(self) -> dict[str, Any]:
        info: dict[str, Any] = {"layout": self.core.layout.copy()}
        if self.spec.button is not None:
            info["illuminated"] = self.core.lit.copy()
        return info

    def render_privileged(self, index: int = 0) -> np.ndarray:
        """Copy `index` with everything visible and no noise (docs and debugging)."""
        renderer = self.core.renderer or _privileged_renderer(self.spec)
        return renderer.render_privileged(int(self.core.layout[index]), int(self.core.pos[index]))

    def close(self) -> None:
        """Nothing to release; present for the protocol."""


class GridWorldEnv:
    """One gridworld copy behind the AsymmetricEnv protocol (a batch of one, no autoreset)."""

    def __init__(self, spec: GridSpec, *, render_images: bool = True, noise: bool = True):
        self.spec = spec
        self.core = GridCore(spec, 1, render_images=render_images, noise=noise)
        self.info = env_info(spec)
        self.observation_space = _observation_space(self.info, render_images)
        self.action_space = action_space_for(self.info)
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        """New episode; with a seed, layout draws and pixel noise restart from that seed."""
        if seed is not None:
            self.core.seed(0, int(seed))
        self.core.reset([0], layout=_layout_option(options))
        self._needs_reset = False
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict]:
        """Move once; returns (obs, reward, terminated, truncated, info)."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step() (and after an episode ends)")
        reward, terminated, truncated, success, hazard = self.core.step(np.asarray(action).reshape(1))
        info = {"success": bool(success[0]), "hazard": bool(hazard[0]), **self._info()}
        self._needs_reset = bool(terminated[0] or truncated[0])
        return self._obs(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def _obs(self) -> Obs:
        return {k: v[0] for k, v in self.core.observe().items()}

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"layout": int(self.core.layout[0]), "steps": int(self.core.t[0])}
        if self.spec.button is not None:
            info["illuminated"] = bool(self.core.lit[0])
        return info

    def render_privileged(self) -> np.ndarray:
        """The whole world with goal, hazard and button visible and no noise."""
        renderer = self.core.renderer or _privileged_renderer(self.spec)
        return renderer.render_privileged(int(self.core.layout[0]), int(self.core.pos[0]))

    def close(self) -> None:
        """Nothing to release; present for the protocol."""


def _privileged_renderer(spec: GridSpec) -> Any:
    from sim_bridges.gridworld.render import Renderer

    return Renderer(spec, noise=False)


def _single(name: str, **kwargs: Any) -> GridWorldEnv:
    return GridWorldEnv(SPECS[name](), **kwargs)


def _batched(name: str, num_envs: int, **kwargs: Any) -> GridWorldBatchedEnv:
    return GridWorldBatchedEnv(SPECS[name](), num_envs, **kwargs)


def make_tiger_door(**kwargs: Any) -> GridWorldEnv:
    """Tiger Door (7x7). kwargs: render_images, noise."""
    return _single("tiger_door", **kwargs)


def make_tiger_door_batched(num_envs: int, **kwargs: Any) -> GridWorldBatchedEnv:
    """num_envs Tiger Door copies, natively vectorised."""
    return _batched("tiger_door", num_envs, **kwargs)


def make_frozen_lake(**kwargs: Any) -> GridWorldEnv:
    """Frozen Lake (7x7, hidden hazard). kwargs: render_images, noise."""
    return _single("frozen_lake", **kwargs)


def make_frozen_lake_batched(num_envs: int, **kwargs: Any) -> GridWorldBatchedEnv:
    """num_envs Frozen Lake copies, natively vectorised."""
    return _batched("frozen_lake", num_envs, **kwargs)


def make_tiger_door_osc1(**kwargs: Any) -> GridWorldEnv:
    """TD-1 (9x9, doors one cell from the start)."""
    return _single("tiger_door_1", **kwargs)


def make_tiger_door_osc1_batched(num_envs: int, **kwargs: Any) -> GridWorldBatchedEnv:
    """num_envs TD-1 copies."""
    return _batched("tiger_door_1", num_envs, **kwargs)


def make_tiger_door_osc2(**kwargs: Any) -> GridWorldEnv:
    """TD-2 (9x9, doors two cells from the start)."""
    return _single("tiger_door_2", **kwargs)


def make_tiger_door_osc2_batched(num_envs: int, **kwargs: Any) -> GridWorldBatchedEnv:
    """num_envs TD-2 copies."""
    return _batched("tiger_door_2", num_envs, **kwargs)


def make_tiger_door_osc3(**kwargs: Any) -> GridWorldEnv:
    """TD-3 (9x9, doors three cells from the start)."""
    return _single("tiger_door_3", **kwargs)


def make_tiger_door_osc3_batched(num_envs: int, **kwargs: Any) -> GridWorldBatchedEnv:
    """num_envs TD-3 copies."""
    return _batched("tiger_door_3", num_envs, **kwargs)
