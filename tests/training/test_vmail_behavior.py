"""The actor/value learner (eq. 8) on a known differentiable model: pathwise gradients point the right way."""

from __future__ import annotations

import torch

from training.vmail.behavior import Actor, Value, behavior_losses


def test_actor_learns_to_drive_a_point_to_its_goal_through_the_dynamics() -> None:
    """s' = s + 0.2a, r = −(s' − 1)²: the only signal reaches the actor through the model, as in V-MAIL."""
    torch.manual_seed(0)
    actor, value = Actor(1, 1, 2, 32, init_std=5.0), Value(1, 2, 32)
    actor_opt = torch.optim.Adam(actor.parameters(), 1e-3)
    value_opt = torch.optim.Adam(value.parameters(), 1e-3)
    rewards = []
    for _ in range(300):
        feats = [torch.rand(256, 1) * 4 - 2]
        for _ in range(10):
            feats.append(feats[-1] + 0.2 * actor.sample(feats[-1]))
        z = torch.stack(feats)
        reward = -((z[1:, :, 0] - 1.0) ** 2)
        actor_loss, _, _ = behavior_losses(reward, z, value, 0.99, 0.95, bootstrap=True)
        actor_opt.zero_grad()
        actor_loss.backward(inputs=list(actor.parameters()))
        actor_opt.step()
        _, value_loss, _ = behavior_losses(reward.detach(), z.detach(), value, 0.99, 0.95, bootstrap=True)
        value_opt.zero_grad()
        value_loss.backward()
        value_opt.step()
        rewards.append(float(reward.mean().detach()))
    with torch.no_grad():
        below, above = actor.mode(torch.tensor([[-1.0], [3.0]])).squeeze(-1).tolist()
    assert below > 0.8 and above < -0.8, (below, above)  # towards the goal from either side
    assert sum(rewards[-20:]) / 20 > 0.5 * sum(rewards[:20]) / 20  # less than half the initial cost
