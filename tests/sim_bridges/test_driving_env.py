"""The occluded-pedestrian environment: API, rewards, endings, the child, the camera, seeding."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from sim_bridges.api import IMAGE, PARTIAL_STATE, STATE
from sim_bridges.driving.config import DEFAULT_SCENARIO
from sim_bridges.driving.env import OccludedPedestrianEnv, action_cost, pid_agreement_bonus
from sim_bridges.driving.expert import (
    blind_cautious_action,
    blind_fast_action,
    expert_action,
    reactive_cautious_action,
)
from sim_bridges.driving.observations import PARTIAL_STATE_NAMES, STATE_NAMES
from sim_bridges.driving.vehicle import nose_x

Policy = Callable[[np.ndarray], np.ndarray]


@pytest.fixture(scope="module")
def env() -> Iterator[OccludedPedestrianEnv]:
    e = OccludedPedestrianEnv()
    yield e
    e.close()


@pytest.fixture(scope="module")
def fast_env() -> Iterator[OccludedPedestrianEnv]:
    e = OccludedPedestrianEnv(render_images=False)
    yield e
    e.close()


def run_episode(
    env: OccludedPedestrianEnv, policy: Policy, key: str = STATE, seed: int = 0, **options: object
) -> tuple[list[dict], list[float], list[dict]]:
    """Returns per-step observations (incl. the first), rewards and infos."""
    obs, info = env.reset(seed=seed, options=options)
    observations, rewards, infos = [obs], [], []
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs[key]))
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        done = terminated or truncated
    return observations, rewards, infos


# ---------------------------------------------------------------- API surface
def test_observation_and_info_contract(env: OccludedPedestrianEnv) -> None:
    obs, info = env.reset(seed=1)
    assert obs[IMAGE].dtype == np.uint8 and obs[IMAGE].shape == (64, 64, 1) == env.info.image_shape
    assert obs[STATE].dtype == np.float32 and obs[STATE].shape == (len(STATE_NAMES),)
    assert obs[PARTIAL_STATE].dtype == np.float32 and obs[PARTIAL_STATE].shape == (len(PARTIAL_STATE_NAMES),)
    assert env.observation_space.contains(obs)
    assert env.info.image_encoding == "mono8" and env.info.action_dim == 2 and env.info.horizon == 90
    assert env.action_space.shape == (2,)
    for key in (
        "collision",
        "child_collision",
        "lane_invasion",
        "waypoints_reached",
        "waypoint_fraction",
        "success",
        "child_present",
    ):
        assert key in info
    top = env.render_privileged()
    assert top.dtype == np.uint8 and top.ndim == 3 and top.shape[2] == 3


def test_registry_builds_the_env() -> None:
    from sim_bridges import make

    e = make("occluded_pedestrian", render_images=False)
    try:
        obs, _ = e.reset(seed=0)
        assert obs[IMAGE].shape == (64, 64, 1) and not obs[IMAGE].any()
    finally:
        e.close()


def test_step_before_reset_and_after_end_raises() -> None:
    e = OccludedPedestrianEnv(render_images=False)
    with pytest.raises(RuntimeError):
        e.step([0.0, 0.0])
    run_episode(e, blind_fast_action)
    with pytest.raises(RuntimeError):
        e.step([0.0, 0.0])
    e.close()


# ---------------------------------------------------------------- rewards
def test_pid_bonus_and_action_cost_formulas() -> None:
    a = np.array([0.2, -0.4])
    assert pid_agreement_bonus(a, a) == 1.0
    assert pid_agreement_bonus(np.array([1.0, 1.0]), np.array([-1.0, -1.0])) == 0.0
    # (1 - |d_pedal|/2) * (1 - |d_steer|/2)^2 with d_steer = 0.5, d_pedal = 1.0
    assert pid_agreement_bonus(np.array([0.5, 1.0]), np.array([0.0, 0.0])) == pytest.approx(0.5 * 0.75**2)
    assert action_cost(np.array([1.0, -1.0]), 0.025) == pytest.approx(0.025 * 2 * np.log(2))


def test_reward_is_the_sum_of_its_terms_and_expert_earns_full_bonus(fast_env: OccludedPedestrianEnv) -> None:
    _, rewards, infos = run_episode(fast_env, expert_action, child_present=False)
    for r, info in zip(rewards, infos, strict=True):
        assert r == pytest.approx(sum(info["reward_terms"].values()))
        assert info["reward_terms"]["pid_bonus"] == pytest.approx(1.0, abs=1e-6)
    assert sum(i["reward_terms"]["waypoints"] for i in infos) == DEFAULT_SCENARIO.num_waypoints
    assert infos[-1]["reward_terms"]["completion"] == DEFAULT_SCENARIO.completion_reward


def test_waypoints_are_counted_once_and_in_order(fast_env: OccludedPedestrianEnv) -> None:
    _, _, infos = run_episode(fast_env, expert_action, child_present=False)
    reached = [i["waypoints_reached"] for i in infos]
    assert reached == sorted(reached) and reached[-1] == DEFAULT_SCENARIO.num_waypoints
    assert np.all(np.diff([0, *reached]) <= 1)  # 3.6 m apart: at most one per 0.1 s step
    last = infos[-1]
    assert last["success"] and last["termination"] == "completed" and last["waypoint_fraction"] == 1.0
    assert last["t"] < 60  # a fast driver finishes well inside the 90-step horizon


# ---------------------------------------------------------------- endings
def test_child_collision_terminates_with_penalty(fast_env: OccludedPedestrianEnv) -> None:
    _, _, infos = run_episode(fast_env, blind_fast_action, child_present=True, child_speed=2.0)
    last = infos[-1]
    assert last["termination"] == "collision" and last["collision"] and last["child_collision"]
    assert last["reward_terms"]["collision"] == -1.0


def test_truck_collision_is_a_collision_but_not_a_child_collision() -> None:
    # A truck parked half in the ego lane: lane keeping at speed runs into its back.
    e = OccludedPedestrianEnv(render_images=False, truck_y=-2.6)
    _, _, infos = run_episode(e, blind_fast_action, child_present=False)
    e.close()
    assert infos[-1]["termination"] == "collision"
    assert infos[-1]["collision"] and not infos[-1]["child_collision"]


def test_lane_invasion_terminates_with_penalty(fast_env: OccludedPedestrianEnv) -> None:
    _, _, infos = run_episode(fast_env, lambda s: np.array([1.0, 0.3]), child_present=False)
    last = infos[-1]
    assert last["termination"] == "lane_invasion" and last["lane_invasion"]
    assert last["reward_terms"]["lane_invasion"] == -1.0
    assert last["t"] < 20


def test_waypoint_timeout(fast_env: OccludedPedestrianEnv) -> None:
    _, _, infos = run_episode(fast_env, lambda s: np.array([0.0, -1.0]), child_present=False)
    last = infos[-1]
    assert last["termination"] == "waypoint_timeout"
    last_new = max(i for i, info in enumerate(infos) if info["reward_terms"]["waypoints"] > 0)
    assert len(infos) - 1 - last_new == DEFAULT_SCENARIO.max_steps_without_waypoint


def test_far_from_next_waypoint_terminates() -> None:
    # Waypoints are 3.6 m apart: with a 3 m limit, braking hard past the first one leaves the
    # next one out of reach.
    e = OccludedPedestrianEnv(render_images=False, max_waypoint_distance=3.0)
    _, _, infos = run_episode(e, lambda s: np.array([0.0, -1.0]), child_present=False)
    e.close()
    assert infos[-1]["termination"] == "off_route" and infos[-1]["waypoints_reached"] == 1


def test_time_limit_truncates(fast_env: OccludedPedestrianEnv) -> None:
    def crawl(state: np.ndarray) -> np.ndarray:  # 3 m/s: a waypoint every ~12 steps, too slow to finish
        return np.array([blind_fast_action(state)[0], np.clip(0.8 * (3.0 - state[3]), -1, 1)])

    obs, _ = fast_env.reset(seed=0, options={"child_present": False})
    for t in range(1, 91):
        obs, _, terminated, truncated, info = fast_env.step(crawl(obs[STATE]))
        assert not terminated
        assert truncated == (t == 90)
    assert info["termination"] == "time_limit"


# ---------------------------------------------------------------- the child
def test_child_presence_is_half_of_the_episodes_and_speed_is_random(fast_env: OccludedPedestrianEnv) -> None:
    present, speeds = [], []
    for seed in range(400):
        fast_env.reset(seed=seed)
        present.append(fast_env.child.present)
        speeds.append(fast_env.child.speed)
    assert 0.42 < np.mean(present) < 0.58
    assert (
        min(speeds) >= DEFAULT_SCENARIO.child_speed_low and max(speeds) <= DEFAULT_SCENARIO.child_speed_high
    )
    assert np.std(speeds) > 0.2


def test_child_waits_until_the_trigger_distance_then_crosses(fast_env: OccludedPedestrianEnv) -> None:
    cfg = DEFAULT_SCENARIO
    obs, _ = fast_env.reset(seed=0, options={"child_present": True, "child_speed": 2.0})
    start_y, triggered_at = fast_env.child.y, None
    for _ in range(90):
        was_triggered = fast_env.child.triggered
        obs, _, terminated, truncated, info = fast_env.step(reactive_cautious_action(obs[PARTIAL_STATE]))
        gap = fast_env.child.x - nose_x(fast_env.ego)
        if not was_triggered:
            assert fast_env.child.y == start_y  # it starts running on the step after the trigger
            if fast_env.child.triggered:
                assert gap <= cfg.trigger_distance
                triggered_at = info["t"]
            else:
                assert gap > cfg.trigger_distance
                assert obs[STATE][STATE_NAMES.index("child_vy")] == 0.0
        elif fast_env.child.y < cfg.child_end_y:
            assert obs[STATE][STATE_NAMES.index("child_vy")] == pytest.approx(2.0)
        if terminated or truncated:
            break
    assert triggered_at is not None
    assert info["success"] and not info["collision"]
    assert fast_env.child.y == cfg.child_end_y  # it reached the far sidewalk and stopped


def test_absent_child_never_moves_and_state_zeroes_it(fast_env: OccludedPedestrianEnv) -> None:
    observations, _, infos = run_episode(fast_env, blind_fast_action, child_present=False)
    assert not fast_env.child.triggered and not any(i["child_visible"] for i in infos)
    s = observations[-1][STATE]
    assert s[STATE_NAMES.index("child_present")] == 0.0 and s[STATE_NAMES.index("child_x")] == 0.0


def _paired_runs(
    env: OccludedPedestrianEnv, policy: Policy, seed: int, speed: float
) -> tuple[list, list, list]:
    """Images without and with the child under identical actions (the ego drives the same path)."""
    obs, _ = env.reset(seed=seed, options={"child_present": False, "child_speed": speed})
    actions, without, done = [], [obs[IMAGE]], False
    while not done:
        actions.append(policy(obs[STATE]))
        obs, _, terminated, truncated, _ = env.step(actions[-1])
        without.append(obs[IMAGE])
        done = terminated or truncated
    obs, _ = env.reset(seed=seed, options={"child_present": True, "child_speed": speed})
    with_child, infos = [obs[IMAGE]], []
    for a in actions:
        obs, _, terminated, truncated, info = env.step(a)
        with_child.append(obs[IMAGE])
        infos.append(info)
        if terminated or truncated:
            break
    return without, with_child, infos


def test_hidden_child_is_invisible_and_emerged_child_is_clearly_visible(env: OccludedPedestrianEnv) -> None:
    without, with_child, infos = _paired_runs(env, blind_cautious_action, seed=5, speed=2.0)
    first_seen = next(i for i, info in enumerate(infos) if info["child_visible"])
    assert infos[first_seen]["child_triggered"]
    # Until it steps out from behind the truck, the frames are bit-identical to a child-free world.
    for t in range(first_seen):  # infos[t] belongs to image index t + 1
        assert np.array_equal(without[t + 1], with_child[t + 1])
    # Once out (a few steps later), it is a clear bright blob in the ego's view.
    t = first_seen + 4
    diff = np.abs(with_child[t + 1].astype(int) - without[t + 1].astype(int))
    assert (diff > 40).sum() >= 6
    assert with_child[t + 1][diff > 40].mean() > without[t + 1][diff > 40].mean() + 40


def test_partial_state_reveals_the_child_only_while_visible(fast_env: OccludedPedestrianEnv) -> None:
    observations, _, infos = run_episode(
        fast_env, reactive_cautious_action, PARTIAL_STATE, child_present=True, child_speed=2.0
    )
    flag, cx = PARTIAL_STATE_NAMES.index("child_visible"), PARTIAL_STATE_NAMES.index("child_x")
    seen = [bool(o[PARTIAL_STATE][flag]) for o in observations[1:]]
    assert seen == [i["child_visible"] for i in infos]
    assert any(seen) and not seen[0]
    for o, s in zip(observations[1:], seen, strict=True):
        assert (o[PARTIAL_STATE][cx] != 0.0) == s
        assert o[STATE][STATE_NAMES.index("child_present")] == 1.0  # the expert always knows


def test_top_view_shows_the_hidden_child(env: OccludedPedestrianEnv) -> None:
    env.reset(seed=2, options={"child_present": False})
    empty = env.render_privileged()
    env.reset(seed=2, options={"child_present": True})
    assert not env.child_visible()
    assert np.abs(env.render_privileged().astype(int) - empty.astype(int)).max() > 100


# ---------------------------------------------------------------- seeding
def test_same_seed_same_actions_identical_episode(env: OccludedPedestrianEnv) -> None:
    other = OccludedPedestrianEnv()
    try:
        rng = np.random.default_rng(7)
        actions = np.clip(rng.normal([0.0, 0.3], 0.15, size=(40, 2)), -1, 1)
        runs = []
        for e in (env, other):
            obs, _ = e.reset(seed=11)
            trace = [obs]
            rewards = []
            for a in actions:
                obs, r, terminated, truncated, _ = e.step(a)
                trace.append(obs)
                rewards.append(r)
                if terminated or truncated:
                    break
            runs.append((trace, rewards))
        (t1, r1), (t2, r2) = runs
        assert r1 == r2 and len(t1) == len(t2)
        for o1, o2 in zip(t1, t2, strict=True):
            for key in (IMAGE, STATE, PARTIAL_STATE):
                assert np.array_equal(o1[key], o2[key])
    finally:
        other.close()


def test_different_seeds_give_different_episodes(fast_env: OccludedPedestrianEnv) -> None:
    layouts = set()
    for seed in range(10):
        obs, _ = fast_env.reset(seed=seed)
        layouts.add(tuple(np.round(obs[STATE][[1, 2, 5, 7]], 4)))
    assert len(layouts) == 10


def test_reset_without_seed_continues_the_generator(fast_env: OccludedPedestrianEnv) -> None:
    fast_env.reset(seed=3)
    a = [fast_env.reset()[0][STATE].copy() for _ in range(3)]
    fast_env.reset(seed=3)
    b = [fast_env.reset()[0][STATE].copy() for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------- scripted drivers
def test_expert_completes_every_episode_without_collisions(fast_env: OccludedPedestrianEnv) -> None:
    for seed in range(40):
        _, _, infos = run_episode(fast_env, expert_action, seed=seed)
        assert infos[-1]["success"] and not infos[-1]["collision"], (seed, infos[-1]["termination"])


def test_blind_fast_hits_the_child_and_cautious_drivers_finish(fast_env: OccludedPedestrianEnv) -> None:
    hits, cautious_steps = [], []
    for seed in range(20):
        _, _, infos = run_episode(fast_env, blind_fast_action, seed=seed, child_present=True)
        hits.append(infos[-1]["child_collision"])
        _, _, infos = run_episode(fast_env, blind_cautious_action, seed=seed, child_present=False)
        assert infos[-1]["success"]
        cautious_steps.append(infos[-1]["t"])
        _, _, infos = run_episode(
            fast_env, reactive_cautious_action, PARTIAL_STATE, seed=seed, child_present=True
        )
        assert infos[-1]["success"] and not infos[-1]["collision"]
    assert np.mean(hits) >= 0.9
    assert max(cautious_steps) < DEFAULT_SCENARIO.horizon


def test_unclosed_camera_env_exits_quietly(tmp_path) -> None:
    """A script that never closes its camera env must not print EGL tracebacks at exit."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "leave_open.py"
    script.write_text(
        "import tempfile, weakref\n"
        "weakref.finalize(tempfile, lambda: None)  # weakref's exit hook first, as many libraries do\n"
        "from sim_bridges.registry import make_batched\n"
        "env = make_batched('occluded_pedestrian', 2, render_images=True)\n"
        "env.reset(seed=0)\n"
        "print('left open')\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0 and "left open" in proc.stdout, proc.stderr[-2000:]
    assert "EGLError" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
