"""gymnasium CarRacing-v3 behind the asymmetric environment API, set up as V-MAIL uses it.

Camera: the top-down 96x96 frame the game itself produces, resized to ``image_size`` (64 by
default). V-MAIL's code crops 128 rows from that frame for a 128x128 network, which the stock
game cannot give (specs/vmail.md section 5): asking for ``image_size`` above 96 here only
upsamples the same 96 rows, it adds no information.

Privileged state (what the Box2D world knows and the frame shows only roughly): the car's
pose, its velocity in its own frame, yaw rate, steering angle and wheel speeds, the next
track points relative to the car, and the fraction of tiles visited.

Settings from V-MAIL: action repeat 2 (rewards summed), the 50 zoom-in frames after a reset
skipped with no-op actions, 1000 game frames per episode counting those (475 agent steps).
Actions are normalised to [-1, 1]: (steer, gas, brake), gas and brake mapped linearly to [0, 1].
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from sim_bridges.api import IMAGE, STATE, EnvInfo, Obs, action_space_for, observation_space_for

ZOOM_FRAMES = 50
TRACK_LOOKAHEAD = 5  # next track points in the state, every LOOKAHEAD_STRIDE-th one
LOOKAHEAD_STRIDE = 3
STATE_NAMES: tuple[str, ...] = (
    "x",
    "y",
    "cos_yaw",
    "sin_yaw",
    "v_forward",
    "v_left",
    "yaw_rate",
    "steer",
    *(f"wheel{i}_omega" for i in range(4)),
    *(f"track{i}_{ax}" for i in range(TRACK_LOOKAHEAD) for ax in ("forward", "left")),
    "progress",
)


class CarRacingEnv:
    """One CarRacing game with a resized camera frame and the Box2D state."""

    def __init__(
        self, *, image_size: int = 64, action_repeat: int = 2, render: bool = True, seed: int | None = None
    ) -> None:
        import gymnasium as gym
        from gymnasium.envs.box2d import car_racing

        if image_size < 8 or action_repeat < 1:
            raise ValueError(
                f"image_size must be >= 8 and action_repeat >= 1 (got {image_size}, {action_repeat})"
            )
        self._gym = gym.make("CarRacing-v3", continuous=True)
        self._game = self._gym.unwrapped
        self._playfield = float(car_racing.PLAYFIELD)
        self._image_size = int(image_size)
        self._action_repeat = int(action_repeat)
        self._render_enabled = render
        self._seed = seed
        max_frames = int(self._gym.spec.max_episode_steps or 1000)
        self.info = EnvInfo(
            name="car_racing",
            image_encoding="rgb8",
            image_shape=(self._image_size, self._image_size, 3),
            state_dim=len(STATE_NAMES),
            partial_state_dim=None,
            discrete_actions=None,
            action_dim=3,
            action_low=(-1.0,) * 3,
            action_high=(1.0,) * 3,
            action_names=("steer", "gas", "brake"),
            control_rate_hz=float(self._game.metadata.get("render_fps", 50)) / self._action_repeat,
            # gymnasium's 1000-frame limit also counts the skipped zoom-in frames
            horizon=(max_frames - ZOOM_FRAMES + self._action_repeat - 1) // self._action_repeat,
        )
        self.observation_space = observation_space_for(self.info)
        self.action_space = action_space_for(self.info)
        self._frame: np.ndarray | None = None
        self._closed = False

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        if self._closed:
            raise RuntimeError("CarRacing environment is closed")
        if seed is None and self._seed is not None:
            seed, self._seed = self._seed, None  # the constructor seed applies to the first reset only
        frame, _ = self._gym.reset(seed=seed)
        noop = np.zeros(3, np.float32)
        for _ in range(ZOOM_FRAMES):  # V-MAIL skips the zoom-in animation
            frame, *_ = self._gym.step(noop)
        self._frame = frame
        return self._observe(), {"discount": 1.0}

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict]:
        if self._closed:
            raise RuntimeError("CarRacing environment is closed")
        a = np.asarray(action, np.float64).reshape(3)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"non-finite action for car_racing: {a}")
        a = np.clip(a, -1.0, 1.0)
        game_action = np.array([a[0], 0.5 * (a[1] + 1.0), 0.5 * (a[2] + 1.0)], np.float32)
        reward, terminated, truncated = 0.0, False, False
        for _ in range(self._action_repeat):
            self._frame, r, terminated, truncated, _ = self._gym.step(game_action)
            reward += float(r)
            if terminated or truncated:
                break
        return self._observe(), reward, terminated, truncated, {"discount": 0.0 if terminated else 1.0}

    def render_privileged(self) -> np.ndarray:
        """The game's full 96x96 frame (RGB uint8)."""
        assert self._frame is not None, "reset first"
        return np.ascontiguousarray(self._frame)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._gym.close()

    def _observe(self) -> Obs:
        assert self._frame is not None
        if not self._render_enabled:
            image = np.zeros(self.info.image_shape, np.uint8)
        elif self._frame.shape[0] == self._image_size:
            image = np.ascontiguousarray(self._frame)
        else:
            shrink = self._image_size < self._frame.shape[0]
            interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            image = cv2.resize(self._frame, (self._image_size, self._image_size), interpolation=interp)
        return {IMAGE: image, STATE: self._state()}

    def _state(self) -> np.ndarray:
        game = self._game
        hull = game.car.hull
        yaw = float(hull.angle)
        # Box2D's car points along its local +y axis: forward = (-sin, cos), left = (-cos, -sin).
        fwd = np.array([-math.sin(yaw), math.cos(yaw)])
        left = np.array([-math.cos(yaw), -math.sin(yaw)])
        pos = np.array([hull.position[0], hull.position[1]])
        vel = np.array([hull.linearVelocity[0], hull.linearVelocity[1]])
        track = game.track
        nearest = int(np.argmin([(t[2] - pos[0]) ** 2 + (t[3] - pos[1]) ** 2 for t in track]))
        ahead = []
        for i in range(1, TRACK_LOOKAHEAD + 1):
            t = track[(nearest + i * LOOKAHEAD_STRIDE) % len(track)]
            d = np.array([t[2], t[3]]) - pos
            ahead += [float(d @ fwd) / 50.0, float(d @ left) / 50.0]
        wheels = [float(w.omega) / 100.0 for w in game.car.wheels]
        state = [
            pos[0] / self._playfield,
            pos[1] / self._playfield,
            math.cos(yaw),
            math.sin(yaw),
            float(vel @ fwd) / 50.0,
            float(vel @ left) / 50.0,
            float(hull.angularVelocity),
            float(game.car.wheels[0].joint.angle),
            *wheels,
            *ahead,
            game.tile_visited_count / max(len(track), 1),
        ]
        return np.asarray(state, np.float32)
