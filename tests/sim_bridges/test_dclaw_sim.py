"""D'Claw in MuJoCo 3: the ROBEL model loads, the turn/screw tasks step with sane rewards and images."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE, AsymmetricEnv
from sim_bridges.dclaw import models, rewards
from sim_bridges.dclaw.spec import POS_HIGH, POS_LOW, RESET_POSE, denormalize_action, normalize_positions


def _models_or_skip() -> Path:
    try:
        return models.find_models_dir()
    except models.RobelModelsMissingError as exc:
        pytest.skip(f"D'Claw model files missing: {exc}")


def test_strip_declaration_after_licence_comment() -> None:
    text = '<!--\n licence\n -->\n\n<?xml version="1.0"?>\n<mujoco model="m"/>\n'
    assert models.strip_xml_declaration(text) == '<!--\n licence\n -->\n\n<mujoco model="m"/>\n'


def test_missing_models_error_says_how_to_fetch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(models, "candidate_dirs", lambda: [tmp_path])
    with pytest.raises(models.RobelModelsMissingError, match=r"scripts/fetch_robel\.sh"):
        models.find_models_dir()


def test_env_var_override_is_searched_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(models.ENV_VAR, str(tmp_path))
    assert models.candidate_dirs()[0] == tmp_path


def test_action_mapping_and_rewards_are_pure() -> None:
    np.testing.assert_allclose(denormalize_action(-np.ones(9)), POS_LOW)
    np.testing.assert_allclose(denormalize_action(np.ones(9) * 5), POS_HIGH)  # clipped
    np.testing.assert_allclose(denormalize_action(normalize_positions(RESET_POSE)), RESET_POSE)
    assert rewards.angle_error(0.1, 2 * math.pi) == pytest.approx(0.1)
    r, terms = rewards.turn_reward(0.05, RESET_POSE, np.zeros(9))
    assert r == pytest.approx(-0.25 + 10 + 50) and terms["pose_diff"] == 0
    r, _ = rewards.turn_reward(math.pi, RESET_POSE + 0.1, np.full(9, 0.4))  # slow joints are not penalised
    assert r == pytest.approx(-5 * math.pi - 0.3)
    r, _ = rewards.velocity_reward(1.0, -1, RESET_POSE, np.array([1.0] + [0.0] * 8))
    assert r == pytest.approx(-5.0 - 1.0)
    assert rewards.score(0.0) == 1.0 and rewards.score(math.pi) == 0.0


@pytest.mark.parametrize("valve", ["valve3", "valve4"])
def test_model_loads_in_mujoco3(valve: str) -> None:
    model = models.load_model(valve, _models_or_skip())
    assert (model.nq, model.nu) == (19, 9)
    assert model.opt.timestep == pytest.approx(0.0025)


def test_turn_task_steps_rewards_and_camera() -> None:
    _models_or_skip()
    from sim_bridges.dclaw.env import make_dclaw_turn

    with make_dclaw_turn(image_size=64, seed=0) as env:
        assert isinstance(env, AsymmetricEnv)
        obs, info = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        assert obs[IMAGE].shape == (64, 64, 3) and obs[IMAGE].dtype == np.uint8 and obs[IMAGE].std() > 5
        assert obs[STATE].shape == (31,) and obs[PARTIAL_STATE].shape == (20,)
        np.testing.assert_allclose(obs[STATE][:9], RESET_POSE, atol=1e-6)
        assert abs(obs[STATE][21]) == pytest.approx(math.pi, abs=1e-6)  # error to the target pi
        rng = np.random.default_rng(0)
        lo, hi = -5 * math.pi - 6.0 - 9 * 2.1, 60.0  # angle cost, pose and velocity norms bounded
        for _ in range(5):
            obs, r, term, trunc, info = env.step(rng.uniform(-1, 1, 9))
            assert lo <= r <= hi and not term and not trunc
            assert 0.0 <= info["score"] <= 1.0
        assert not np.allclose(obs[STATE][:9], RESET_POSE)  # the fingers moved
        assert env.render_privileged().shape == (64, 64, 3)


def test_screw_target_advances_and_horizon() -> None:
    _models_or_skip()
    from sim_bridges.registry import make

    env = make("dclaw_screw", render=False)
    try:
        env.reset(seed=1)
        hold = normalize_positions(RESET_POSE)
        for _ in range(3):
            *_, info = env.step(hold)
        assert info["target"] == pytest.approx(3 * 0.5 * 0.1)
        assert env.info.horizon == 80 and env.info.name == "dclaw_screw"
    finally:
        env.close()
