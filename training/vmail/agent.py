"""One V-MAIL update (Algorithm 1, lines 11–19) and the acting step (lines 6–7).

Order per update, as in the authors' code: world model (eq. 7) on B_E ∪ B_π, then the
discriminator (eq. 6) on expert posteriors vs one imagined rollout, then the actor (eq. 8
through the model and D), then the value. The imagined rollout is computed once and shared:
D sees it detached, the actor differentiates through it. Actor gradients are taken with
``torch.autograd.grad`` w.r.t. the actor's parameters only, so no weight gradients are
computed for the model, D or the value on that backward pass.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from training.vmail.behavior import Actor, Value, behavior_losses
from training.vmail.discriminator import Discriminator
from training.vmail.losses import elbo_loss, gaussian_kl, unit_gaussian_log_prob
from training.vmail.networks import (
    ConvEncoder,
    DenseHead,
    PrivilegedStateHead,
    build_image_decoder,
    preprocess,
)
from training.vmail.rssm import RSSM, State

PRECISIONS = ("fp32", "bf16")
DISC_FEATURES = ("feat", "stoch")
DISC_INPUTS = ("state_action", "state", "transition")
EXPERT_PAIRS = ("posterior", "open_loop")
REWARD_SOURCES = ("disc", "env")
IMAGINE_FROM = ("batch", "policy")


def resolve_device(name: str) -> torch.device:
    """``cpu`` or ``cuda[:N]``; a GPU that PyTorch cannot see is an error here, not at the first
    update minutes into a run."""
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {name!r}") from exc
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {name!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {name!r}: PyTorch sees no CUDA GPU here (torch.cuda.is_available() is False); "
            "use --set device=cpu"
        )
    return device


class WorldModel(nn.Module):
    """Encoder + RSSM + decoder: the variational model {q_θ, T_θ} with its image likelihood U_θ."""

    def __init__(
        self, cfg: Any, action_dim: int, state_dim: int = 0, state_angle_dims: tuple[int, ...] = ()
    ) -> None:
        super().__init__()
        m = cfg.model
        self.encoder = ConvEncoder(cfg.image_size, cfg.channels, m.cnn_depth)
        self.rssm = RSSM(self.encoder.embed_dim, action_dim, m.stoch, m.deter, m.hidden, m.min_std)
        kind = m.get("decoder", "conv")  # older checkpoints lack the key
        width = m.cnn_depth if kind == "conv" else int(m.get("broadcast_width", 64))
        self.decoder = build_image_decoder(kind, self.rssm.feat_dim, cfg.image_size, cfg.channels, width)
        source = cfg.behavior.reward_source
        if source not in REWARD_SOURCES:
            raise ValueError(f"behavior.reward_source must be one of {REWARD_SOURCES}, got {source!r}")
        # DEV diagnostic, not imitation: Dreamer's reward head on the environment's reward
        self.reward_head = DenseHead(self.rssm.feat_dim, 1, 2, m.hidden) if source == "env" else None
        # DEV: a training-only head that asks the latent to keep the simulator's state
        self.state_head: PrivilegedStateHead | None = None
        if float(m.get("state_scale", 0.0)) > 0:  # older checkpoints lack the key
            if state_dim <= 0:
                raise ValueError(
                    "model.state_scale > 0 needs the environment's privileged state dimension "
                    "(episodes with a 'state' array); this run has none"
                )
            self.state_head = PrivilegedStateHead(self.rssm.feat_dim, state_dim, m.hidden, state_angle_dims)


class VMAILAgent(nn.Module):
    def __init__(
        self,
        cfg: Any,
        action_dim: int,
        world: WorldModel | None = None,
        model_opt: torch.optim.Optimizer | None = None,
        state_dim: int = 0,
        state_angle_dims: tuple[int, ...] = (),
    ) -> None:
        """``world``/``model_opt`` share one model between agents (Algorithm 2's source tasks);
        ``state_dim`` sizes the DEV privileged-state head (``model.state_scale`` > 0), which
        predicts the ``state_angle_dims`` as (cos, sin)."""
        super().__init__()
        if cfg.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {cfg.precision!r}")
        self.image_std = float(cfg.model.get("image_std", 1.0))  # older checkpoints lack the key
        if self.image_std <= 0:
            raise ValueError(f"model.image_std must be > 0, got {self.image_std!r}")
        self.cfg, self.action_dim = cfg, action_dim
        self.world = world if world is not None else WorldModel(cfg, action_dim, state_dim, state_angle_dims)
        feat = self.world.rssm.feat_dim
        b, d = cfg.behavior, cfg.disc
        self.actor = Actor(feat, action_dim, b.actor_layers, b.units, b.init_std, b.mean_scale, b.min_std)
        self.value = Value(feat, b.value_layers, b.units)
        if d.expert_pairs not in EXPERT_PAIRS:
            raise ValueError(f"disc.expert_pairs must be one of {EXPERT_PAIRS}, got {d.expert_pairs!r}")
        if d.features not in DISC_FEATURES:
            raise ValueError(f"disc.features must be one of {DISC_FEATURES}, got {d.features!r}")
        if cfg.train.imagine_from not in IMAGINE_FROM:
            raise ValueError(
                f"train.imagine_from must be one of {IMAGINE_FROM}, got {cfg.train.imagine_from!r}"
            )
        if d.inputs not in DISC_INPUTS:
            raise ValueError(f"disc.inputs must be one of {DISC_INPUTS}, got {d.inputs!r}")
        self.disc_on_stoch = d.features == "stoch"
        z_dim = self.world.rssm.stoch_dim if self.disc_on_stoch else feat
        disc_in = {"state_action": z_dim + action_dim, "state": z_dim, "transition": 2 * z_dim}[d.inputs]
        self.disc = Discriminator(disc_in, d.layers, d.units)
        self.channels_last = bool(cfg.channels_last)
        if self.channels_last:
            self.world.to(memory_format=torch.channels_last)
        eps = float(cfg.train.adam_eps)
        self.opts = {
            "model": model_opt or torch.optim.Adam(self.world.parameters(), lr=cfg.model.lr, eps=eps),
            "disc": torch.optim.Adam(self.disc.parameters(), lr=d.lr, eps=eps),
            "actor": torch.optim.Adam(self.actor.parameters(), lr=b.actor_lr, eps=eps),
            "value": torch.optim.Adam(self.value.parameters(), lr=b.value_lr, eps=eps),
        }
        self.updates = 0
        self.device = resolve_device(str(cfg.get("device", "cpu")))  # older configs lack the key
        self.to(self.device)  # before the optimisers take their first step, so their state follows

    # -- helpers -------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.precision == "bf16")

    def tensor(self, array: np.ndarray | torch.Tensor) -> torch.Tensor:
        """A batch array on the agent's device (uint8 frames travel as uint8)."""
        return torch.as_tensor(array, device=self.device)

    def _images(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = preprocess(self.tensor(images))  # (..., C, H, W), a channels-last view
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        lead = x.shape[:-3]
        return x.reshape(-1, *x.shape[-3:]).contiguous(memory_format=fmt).reshape(*lead, *x.shape[-3:])

    def _step(self, name: str, loss: torch.Tensor | None, grads: list[torch.Tensor] | None = None) -> float:
        opt = self.opts[name]
        params = [p for g in opt.param_groups for p in g["params"]]
        opt.zero_grad(set_to_none=True)
        if grads is None:
            assert loss is not None
            loss.backward()
        else:
            for p, g in zip(params, grads, strict=True):
                p.grad = g
        norm = nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip)
        opt.step()
        return float(norm)

    def disc_input(self, steps: torch.Tensor) -> torch.Tensor:
        """What D sees of [z_t, a_{t+1}, z_{t+1}] steps (see ``steps``).

        ``disc.inputs``: ``state_action`` (paper, eq. 6) [z_t, a]; DEV ``state`` [z_t] and
        ``transition`` [z_t, z_{t+1}] (state-only imitation: D cannot reward matching the
        expert's actions, only reaching and moving through the expert's states).
        DEV ``disc.features: stoch`` drops the GRU state, which carries the previous action:
        with it, D can score "a_{t+1} ≈ a_t" (the expert's smoothness) and the actor satisfies
        D by repeating its own last action.
        """
        feat, a_dim = self.world.rssm.feat_dim, self.action_dim
        z, a, z_next = steps[..., :feat], steps[..., feat : feat + a_dim], steps[..., feat + a_dim :]
        return self._disc_input_from(z, a, z_next)

    def _disc_input_from(self, z: torch.Tensor, a: torch.Tensor, z_next: torch.Tensor) -> torch.Tensor:
        """D's input from the parts, concatenating only what ``disc.inputs`` uses."""
        if self.disc_on_stoch:
            stoch = self.world.rssm.stoch_dim
            z, z_next = z[..., :stoch], z_next[..., :stoch]
        inputs = self.cfg.disc.inputs
        if inputs == "state":
            return z
        if inputs == "transition":
            return torch.cat([z, z_next], -1)
        return torch.cat([z, a], -1)

    @staticmethod
    def steps(feats: torch.Tensor, actions: torch.Tensor, time_dim: int) -> torch.Tensor:
        """[z_t, a_{t+1}, z_{t+1}] along ``time_dim``: ``actions`` index t is the action that
        leaves z_t (already shifted by the caller)."""
        n = feats.shape[time_dim]
        z, z_next = feats.narrow(time_dim, 0, n - 1), feats.narrow(time_dim, 1, n - 1)
        return torch.cat([z.float(), actions.float(), z_next.float()], -1)

    def expert_pairs(self, expert: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Expert steps [z_t, a_{t+1}, z_{t+1}], flattened; ``action[t+1]`` is the action taken at obs t.

        ``disc.expert_pairs``: ``posterior`` (paper) takes z_t from the filter on every frame.
        ``open_loop`` (DEV) starts the filter's state every ``horizon`` frames and rolls the
        prior forward on the expert's own actions, so expert pairs carry the same model drift
        as the imagined policy pairs and D cannot tell them apart by drift alone.
        Returns (steps for D, posterior steps for the optional BC term).
        """
        actions = self.tensor(expert["action"])
        with torch.no_grad(), self.autocast():
            embed = self.world.encoder(self._images(expert["image"]))
            post, _ = self.world.rssm.observe(embed, actions)
            if self.cfg.disc.expert_pairs == "open_loop":
                feats = self.world.rssm.open_loop(post, actions, self.cfg.behavior.horizon)
            else:
                feats = post.feat()

        def shifted(z: torch.Tensor) -> torch.Tensor:
            steps = self.steps(z, actions[:, 1:], time_dim=1)
            return steps.reshape(-1, steps.shape[-1])

        pairs = shifted(feats)
        if self.cfg.disc.expert_pairs == "posterior":  # D's pairs already are the posterior pairs
            return pairs, pairs
        return pairs, shifted(post.feat())

    def imagination_rows(self, data: dict[str, np.ndarray]) -> np.ndarray | slice:
        """Model-batch windows whose posteriors start imagination.

        ``train.imagine_from``: ``batch`` (paper/authors) uses every window of B_E ∪ B_π.
        DEV ``policy`` uses the agent's own windows only (``data["from_policy"]``): expert
        windows show the pole already up, and an actor trained from them learns to stay
        there, not how to get there from where it starts (README, third round).
        """
        if self.cfg.train.imagine_from == "batch" or "from_policy" not in data:
            return slice(None)
        own = np.flatnonzero(data["from_policy"])
        return own if len(own) else slice(None)

    # -- Algorithm 1, lines 11-19 --------------------------------------------------------
    def update(self, data: dict[str, np.ndarray], expert: dict[str, np.ndarray]) -> dict[str, float]:
        """One update of model, discriminator, actor and value; returns scalar metrics."""
        cfg = self.cfg
        metrics: dict[str, Any] = {}
        clock = [time.perf_counter()]

        def lap(name: str) -> None:  # wall time per phase, for the update-cost benchmark
            clock.append(time.perf_counter())
            metrics[f"time_{name}"] = clock[-1] - clock[-2]

        actions = self.tensor(data["action"])
        x = self._images(data["image"])
        with self.autocast():
            embed = self.world.encoder(x)
            post, prior = self.world.rssm.observe(embed, actions)
            post_feat = post.feat()
            recon = self.world.decoder(post_feat)
        kl = gaussian_kl(post.mean, post.std, prior.mean, prior.std)
        m = cfg.model
        model_loss, mm = elbo_loss(recon, x.float(), kl, m.free_nats, m.kl_scale, self.image_std)
        if self.world.reward_head is not None:  # r_t arrives with observation t
            predicted = self.world.reward_head(post_feat.float()).squeeze(-1)
            rewards = self.tensor(data["reward"]).float()
            reward_log_lik = unit_gaussian_log_prob(
                predicted[..., None], rewards[..., None], event_dims=1
            ).mean()
            model_loss = model_loss - reward_log_lik
            metrics["reward_log_lik"] = reward_log_lik.detach()
        if self.world.state_head is not None:  # DEV: the latent must also predict the sim state
            head = self.world.state_head
            target = head.targets(self.tensor(data["state"]))
            state_log_lik = unit_gaussian_log_prob(head(post_feat.float()), target, event_dims=1).mean()
            model_loss = model_loss - cfg.model.state_scale * state_log_lik
            metrics["state_log_lik"] = state_log_lik.detach()
        metrics.update(mm, model_loss=model_loss.detach())
        metrics["model_grad_norm"] = self._step("model", model_loss)
        lap("model")

        e_pairs, bc_pairs = self.expert_pairs(expert)
        lap("expert")
        rows = self.imagination_rows(data)
        start = post.detach().map(lambda t: t[rows, :-1].reshape(-1, t.shape[-1]))
        with self.autocast():
            feats, acts = self.world.rssm.imagine(start, self.actor.sample, cfg.behavior.horizon)
        feats = feats.float()
        lap("imagine")

        # imagined pairs go straight to D's input: no [z, a, z'] copy of the H x N rollout
        d_expert, d_policy = (
            self.disc_input(e_pairs),
            self._disc_input_from(feats[:-1], acts.float(), feats[1:]),
        )
        with self.autocast():
            d_loss, dm = self.disc.loss(d_expert, d_policy.detach(), cfg.disc.gp, cfg.disc.gp_weight)
        metrics.update(dm)
        metrics["disc_grad_norm"] = self._step("disc", d_loss)
        lap("disc")

        b = cfg.behavior
        with self.autocast():
            if self.world.reward_head is None:
                reward = self.disc.reward(d_policy, b.reward)
            else:  # the reward of the step z_t -> z_{t+1} is predicted from z_{t+1}
                reward = self.world.reward_head(feats[1:]).squeeze(-1).float()
            actor_loss, value_loss, bm = behavior_losses(
                reward, feats, self.value, b.gamma, b.lam, b.bootstrap
            )
        if b.bc_weight > 0:  # DEV: anchor the actor to the expert's actions on expert posteriors
            feat_dim = self.world.rssm.feat_dim
            expert_actions = bc_pairs[:, feat_dim : feat_dim + self.action_dim]
            bc = ((self.actor.mode(bc_pairs[:, :feat_dim]) - expert_actions) ** 2).sum(-1).mean()
            actor_loss = actor_loss + b.bc_weight * bc
            metrics["bc_loss"] = bc.detach()
        actor_params = list(self.actor.parameters())
        grads = torch.autograd.grad(actor_loss, actor_params)
        metrics["actor_grad_norm"] = self._step("actor", None, list(grads))
        metrics["value_grad_norm"] = self._step("value", value_loss)
        metrics.update(bm, actor_loss=actor_loss.detach(), value_loss=value_loss.detach())
        with torch.no_grad():  # saturation/collapse diagnostics: pre-tanh std, mean |action|
            metrics["actor_std"] = self.actor.dist_params(feats[0])[1].mean()
            metrics["action_abs"] = acts.float().abs().mean()
        lap("behavior")
        self.updates += 1
        return {k: float(v) for k, v in metrics.items()}

    # -- Algorithm 1, lines 6-7 ----------------------------------------------------------
    def initial_state(self, batch: int) -> tuple[State, torch.Tensor]:
        return self.world.rssm.initial(batch, self.device), torch.zeros(
            batch, self.action_dim, device=self.device
        )

    @torch.no_grad()
    def act(
        self,
        image: np.ndarray,
        state: tuple[State, torch.Tensor] | None,
        explore: float = 0.0,
        sample_latent: bool = True,
    ) -> tuple[np.ndarray, tuple[State, torch.Tensor]]:
        """Filter one frame per stream (image (N, H, W, C) uint8) and pick actions in [-1, 1].

        ``explore`` > 0: a sampled action plus N(0, explore²) noise (collection); 0: tanh(μ).
        """
        image = np.asarray(image)
        if image.ndim == 3:  # (N, H, W) mono
            image = image[..., None]
        if state is None:
            state = self.initial_state(image.shape[0])
        latent, prev_action = state
        with self.autocast():
            embed = self.world.encoder(self._images(image))
            prior = self.world.rssm.img_step(latent, prev_action, sample=sample_latent)
            post = self.world.rssm.obs_step(prior, embed, sample=sample_latent)
            feat = post.feat()
            action = self.actor.sample(feat) if explore > 0 else self.actor.mode(feat)
        action = action.float()
        if explore > 0:
            action = torch.clamp(action + explore * torch.randn_like(action), -1.0, 1.0)
        return action.cpu().numpy(), (post.map(lambda t: t.float()), action)

    def optimizer_state(self) -> dict[str, Any]:
        return {k: o.state_dict() for k, o in self.opts.items()}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        for k, o in self.opts.items():
            o.load_state_dict(state[k])
