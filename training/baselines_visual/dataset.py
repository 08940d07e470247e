"""Transitions of image episodes, stored as single frames and gathered into frame stacks.

Both the demonstrations (read from episode files) and an off-policy agent's own experience
go in here. In the episode layout ``action[t]`` led to ``image[t]``, so the transition taken
at observation t is (frames t-K+1..t, ``action[t+1]``, ``reward[t+1]``, frames t-K+2..t+1,
``discount[t+1]``). Frames before an episode's start repeat its first frame, as the rollout
FrameWindow does. Each frame is stored once and stacks are gathered by index, so K = 3 costs
no extra memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch


class FrameReplay:
    """A store of frames and the (fixed-capacity) transitions that index them."""

    def __init__(
        self, capacity: int, image_shape: Sequence[int], action_dim: int, frame_stack: int = 3
    ) -> None:
        if frame_stack < 1:
            raise ValueError(f"frame_stack must be >= 1, got {frame_stack}")
        self.frame_stack = int(frame_stack)
        self.image_shape = tuple(int(v) for v in image_shape)
        self.action_dim = int(action_dim)
        self.frames = torch.zeros((int(capacity), *self.image_shape), dtype=torch.uint8)
        self.obs_index = torch.zeros((int(capacity), self.frame_stack), dtype=torch.long)
        self.next_index = torch.zeros((int(capacity), self.frame_stack), dtype=torch.long)
        self.actions = torch.zeros((int(capacity), self.action_dim))
        self.rewards = torch.zeros(int(capacity))
        self.discounts = torch.zeros(int(capacity))
        self.num_frames = 0
        self.size = 0
        self._episode_start = 0

    @classmethod
    def from_episodes(
        cls, episodes: Sequence[Mapping[str, np.ndarray]], frame_stack: int = 3, spare: int = 0
    ) -> FrameReplay:
        """A replay holding ``episodes`` (all of one image shape), with room for ``spare`` more frames."""
        if not episodes:
            raise ValueError("no episodes given")
        shapes = {tuple(ep["image"].shape[1:]) for ep in episodes}
        if len(shapes) != 1:
            raise ValueError(f"episodes have different image shapes: {sorted(shapes)}")
        capacity = sum(len(ep["image"]) for ep in episodes) + spare
        replay = cls(capacity, shapes.pop(), episodes[0]["action"].shape[1], frame_stack)
        for ep in episodes:
            replay.add_episode(ep)
        return replay

    def __len__(self) -> int:
        return self.size

    def begin_episode(self, image: np.ndarray) -> None:
        """The first observation of a new episode.

        A first frame that no transition uses yet (an episode begun just before a checkpoint,
        then abandoned when the run resumed) is overwritten, so resuming costs no frames.
        """
        frame = self._as_frame(image)  # checked before anything changes
        if self._last_frame_unused():
            self.num_frames -= 1
        self._episode_start = self.num_frames
        self._push_frame(frame)

    def add_step(self, action: np.ndarray, image: np.ndarray, reward: float, discount: float) -> None:
        """``action`` taken at the last frame led to ``image`` with ``reward`` (discount 0: terminal)."""
        if self.num_frames == 0:
            raise RuntimeError("add_step before begin_episode")
        if self.size >= self.obs_index.shape[0]:
            raise RuntimeError(f"replay full ({self.size} transitions)")
        frame = self._as_frame(image)
        self.obs_index[self.size] = self._stack(self.num_frames - 1)
        self._push_frame(frame)
        self.next_index[self.size] = self._stack(self.num_frames - 1)
        self.actions[self.size] = torch.as_tensor(np.asarray(action, np.float32).reshape(self.action_dim))
        self.rewards[self.size] = float(reward)
        self.discounts[self.size] = float(discount)
        self.size += 1

    def add_episode(self, episode: Mapping[str, np.ndarray]) -> None:
        """A whole episode in the file layout (see training/demos/episodes.py)."""
        self.begin_episode(episode["image"][0])
        for t in range(1, len(episode["image"])):
            self.add_step(
                episode["action"][t], episode["image"][t], episode["reward"][t], episode["discount"][t]
            )

    def observations(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 (B, K, H, W, C) stacks and float32 (B, A) actions for the given transitions."""
        return self.frames[self.obs_index[rows]], self.actions[rows]

    def transitions(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """obs, action, reward, next_obs, discount of the given transitions."""
        return {
            "obs": self.frames[self.obs_index[rows]],
            "action": self.actions[rows],
            "reward": self.rewards[rows],
            "next_obs": self.frames[self.next_index[rows]],
            "discount": self.discounts[rows],
        }

    def state_dict(self) -> dict[str, torch.Tensor | int]:
        """The filled part only (frames and transitions), for resuming an off-policy run."""
        n, f = self.size, self.num_frames
        return {
            "frames": self.frames[:f].clone(),
            "obs_index": self.obs_index[:n].clone(),
            "next_index": self.next_index[:n].clone(),
            "actions": self.actions[:n].clone(),
            "rewards": self.rewards[:n].clone(),
            "discounts": self.discounts[:n].clone(),
            "size": n,
            "num_frames": f,
        }

    def load_state_dict(self, state: dict[str, torch.Tensor | int], size: int, num_frames: int) -> None:
        """Restore the first ``size`` transitions and ``num_frames`` frames of a saved replay.

        The replay file may be newer than the checkpoint that names ``size`` (it is written
        first); it only ever grows, so its prefix is exactly the replay at checkpoint time.
        """
        if int(state["size"]) < size or int(state["num_frames"]) < num_frames:
            raise ValueError(
                f"saved replay holds {state['size']} transitions / {state['num_frames']} frames, "
                f"fewer than the checkpoint's {size} / {num_frames}"
            )
        if size > self.obs_index.shape[0]:
            raise ValueError(f"saved replay ({size} transitions) exceeds this replay's capacity")
        frames = state["frames"]
        assert isinstance(frames, torch.Tensor)
        if tuple(frames.shape[1:]) != self.image_shape:
            raise ValueError(
                f"saved replay has frames {tuple(frames.shape[1:])}, this replay {self.image_shape}"
            )
        self._reserve_frames(num_frames)
        self.frames[:num_frames] = frames[:num_frames]
        for name in ("obs_index", "next_index", "actions", "rewards", "discounts"):
            saved = state[name]
            assert isinstance(saved, torch.Tensor)
            getattr(self, name)[:size] = saved[:size]
        self.size, self.num_frames = size, num_frames
        self._episode_start = num_frames

    def sample_rows(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty replay")
        return torch.randint(0, self.size, (batch_size,), generator=generator)

    def _last_frame_unused(self) -> bool:
        if self.num_frames == 0:
            return False
        return self.size == 0 or int(self.next_index[self.size - 1, -1]) < self.num_frames - 1

    def _reserve_frames(self, count: int) -> None:
        """Grow the frame store to hold ``count`` frames.

        One frame per transition plus one per episode start is the need; episodes that end
        early or runs resumed mid-episode start more episodes than a capacity planned from the
        horizon allows, and that must not end a long run at its last step.
        """
        have = self.frames.shape[0]
        if count <= have:
            return
        extra = max(count - have, have // 16, 64)
        self.frames = torch.cat([self.frames, self.frames.new_zeros((extra, *self.image_shape))])

    def _as_frame(self, image: np.ndarray) -> torch.Tensor:
        frame = torch.as_tensor(np.asarray(image, np.uint8))
        if tuple(frame.shape) != self.image_shape:
            raise ValueError(f"frame of shape {tuple(frame.shape)} in a replay of {self.image_shape}")
        return frame

    def _push_frame(self, frame: torch.Tensor) -> None:
        self._reserve_frames(self.num_frames + 1)
        self.frames[self.num_frames] = frame
        self.num_frames += 1

    def _stack(self, last: int) -> torch.Tensor:
        lags = torch.arange(self.frame_stack - 1, -1, -1)
        return torch.clamp(last - lags, min=self._episode_start)
