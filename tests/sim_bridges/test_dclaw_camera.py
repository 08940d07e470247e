"""The D'Claw trainee camera is V-MAIL's: free camera, distance 0.5, azimuth 180, elevation -30,
look-at (0, 0, 0.2), 128x128 by default (specs/vmail.md section 5)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import sim_bridges
from sim_bridges.dclaw import models


def test_camera_matches_the_vmail_spec() -> None:
    try:
        models.find_models_dir()
    except models.RobelModelsMissingError as exc:
        pytest.skip(f"D'Claw model files missing: {exc}")
    env = sim_bridges.make("dclaw_turn")
    try:
        cam = env._camera
        assert cam.type == mujoco.mjtCamera.mjCAMERA_FREE
        assert (cam.distance, cam.azimuth, cam.elevation) == (0.5, 180.0, -30.0)
        np.testing.assert_allclose(cam.lookat, (0.0, 0.0, 0.2))
        obs, _ = env.reset(seed=0)
        assert obs["image"].shape == (128, 128, 3) and obs["image"].std() > 5
    finally:
        env.close()
