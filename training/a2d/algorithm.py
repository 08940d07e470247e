"""A2D (Adaptive Asymmetric DAgger, Warrington et al. 2021) and its baselines in one trainer.

One iteration (Alg. 1):

1. **Rollout** under the per-step mixture π_β = β π_θ(·|s) + (1−β) π_ψ(·|o): every copy of the
   batched env flips a Bernoulli(β) coin each step; the expert acts on the privileged state,
   the trainee on its image window (or partial state). The (state, observation) pairs go into
   a FIFO replay buffer.
2. **Expert RL step** (eq. 27–29): GAE on the *mixture* value V = β V_e(s) + (1−β) V_l(o);
   the policy gradient is importance weighted by w = π_θ(a|s) / π_β(a|s,o). TRPO (natural
   gradient, CG, KL-constrained line search) or clipped PPO, chosen by ``rl.algo``. Both value
   functions (V_e on state, V_l on observation) are fitted to the mixture's λ-returns.
3. **Projection / AIL step** (eq. 18): minimise KL(π_θ(·|s) ‖ π_ψ(·|o)) over the buffer, the
   expert evaluated with its *current* parameters on stored states, images augmented
   (random crop + speckle) as in the reference.
4. β ← decay·β, and 0 below 1e-3.

Deliberate differences from the reference implementation, and why:

* **The projection step really updates the trainee.** The reference passed its ``verbose``
  flag into the ``update`` parameter, so on Linux the trainee was never trained.
* **Entropy regularisation is a term of the surrogate, not a bonus on the advantage.** The
  reference added c·H(π_θ(·|s_t)) to the advantage *without* the importance weight. For
  on-policy RL that is a state-dependent baseline shift (zero expected gradient after
  standardisation), but with β < 1 the data come from π_ψ and the term contributes
  c·H(s)·E_{a~π_ψ}[∇ log π_θ(a|s)], which pulls the expert toward the trainee's actions. We
  add ``entropy_coef · mean_s H(π_θ(·|s))`` to the surrogate instead: its gradient is the
  true entropy gradient at the visited states, whoever acted. Its job in A2D is to break
  ties the same way in every hidden state (e.g. Frozen Lake's two equally short detours):
  a maximum-entropy expert picks them 50/50 whatever the hazard, which the trainee can copy.
* **An explicit expert-to-trainee KL term replaces the reference's accidental pull.**
  ``a2d.expert_kl_coef`` κ adds −κ·E_s[KL(π_θ(·|s) ‖ π_ψ(·|o))] (trainee fixed) to the expert's
  surrogate. The reference's un-weighted entropy bonus (c = 10) happened to pull the expert
  toward the trainee; without any pull, the Monte Carlo part of the asymmetric advantage
  (paper App. B, it conditions on the hidden state) lets the expert exploit privileged
  information on Frozen Lake and the divergence stalls near 0.1. The term is zero exactly
  when the expert is representable by the trainee, i.e. at A2D's fixed point, so it bounds
  the drift without moving the solution. 0 gives the pure eq. 27 update (Tiger Door presets).
* **Advantages are standardised before the importance weight is applied.** Subtracting a
  constant b from Â before weighting keeps the estimator unbiased (E_{π_β}[w b ∇log π_θ] =
  b ∇Σ_a π_θ = 0); subtracting it after weighting would not be.
* **Both value functions regress the mixture's λ-return** (Â + V_mix), the value of π_β, rather
  than each network's own old prediction plus the mixture advantage. Plain (or optionally
  PPO-clipped) squared error; the reference took the max of *signed* errors.
* **Time limits bootstrap** from V(final observation) (``rl.bootstrap_truncation``); the
  reference treated them as terminal. λ-accumulation is still cut at every episode end.
* **Divergence is logged on fresh evaluation data** (the trainee's stochastic evaluation
  rollouts, no augmentation), not as the last projection epoch's training loss.
* Vectorised envs, float32, a ~10× cheaper CNN, fewer value epochs with larger minibatches,
  and value outputs scaled by a fixed ``network.value_scale``; see presets.yaml.

Baselines reuse the same machinery (``method``):

* ``rl``: one policy (on ``expert_input``) with a value on ``critic_input``: RL (MDP) on
  state, RL on images, RL (Asym) with image policy and state critic, RL (Compact).
* ``a2d``: expert on state, trainee on ``trainee_input`` (image → A2D (Image), partial_state →
  A2D (Compact)).
* ``ail``: asymmetric DAgger from a fixed expert (an RL (MDP) checkpoint, or a hand-coded
  controller via ``expert_script`` as in the paper's driving experiment): β=1 on the first
  iteration, then 0; only the projection step.
* ``preenc``: an image encoder regressed to the state on expert rollouts, frozen, then RL of
  an MLP head with an asymmetric (state) critic.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical, Distribution, Independent, Normal, kl_divergence

from policies.networks import ImagePolicy, ImageValue, PolicyNet, PreEncPolicy, StatePolicy, StateValue
from policies.scripted import ScriptedPolicy
from training.a2d.losses import beta_at, gae, importance_weight, mixture_value, normalize, value_loss
from training.a2d.ppo import ppo_step
from training.a2d.replay import ReplayBuffer, augment_images
from training.a2d.rollout import IMAGE, PARTIAL, STATE, Actor, Rollout, collect
from training.a2d.trpo import trpo_step
from training.config import Config
from training.evaluate import divergence, run_episodes

METHODS = ("a2d", "rl", "ail", "preenc")


def derive_seed(*parts: int) -> int:
    """A 31-bit seed from integers, e.g. (seed, iteration, stream), stable across runs."""
    return int(np.random.SeedSequence([int(p) % (2**32) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


def detached_distribution(policy: PolicyNet, out: torch.Tensor) -> Distribution:
    """The policy's distribution at ``out`` with every parameter detached (TRPO's π_old)."""
    if policy.discrete:
        return Categorical(logits=out.detach())
    return Independent(Normal(out.detach(), policy.log_std.detach().exp().expand_as(out)), 1)


def _index_dist(d: Distribution, idx: torch.Tensor) -> Distribution:
    """Rows ``idx`` of a detached Categorical / diagonal Gaussian."""
    if isinstance(d, Categorical):
        return Categorical(logits=d.logits[idx])
    base = d.base_dist  # type: ignore[attr-defined]
    return Independent(Normal(base.loc[idx], base.scale[idx]), 1)


def batched_forward(net: nn.Module, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    return torch.cat([net(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)]) if x.shape[0] else net(x)


class A2DTrainer:
    """Networks, optimisers, replay buffer and the per-iteration update of one run."""

    def __init__(self, cfg: Config, env, env_info, expert_state: dict[str, Any] | None = None) -> None:
        if cfg.method not in METHODS:
            raise ValueError(f"unknown method {cfg.method!r}; one of {METHODS}")
        self.cfg = cfg
        self.env = env
        self.info = env_info
        self.discrete = env_info.discrete_actions is not None
        self.action_size = int(env_info.discrete_actions if self.discrete else env_info.action_dim)
        self.low = np.asarray(env_info.action_low, np.float32) if env_info.action_low else None
        self.high = np.asarray(env_info.action_high, np.float32) if env_info.action_high else None
        self.frame_window = int(cfg.frame_window)
        self.nets: dict[str, nn.Module] = {}
        self.optims: dict[str, torch.optim.Optimizer] = {}
        self.iteration = 0
        self.env_steps = 0
        self.preenc_done = False
        self._build(expert_state)
        self.buffer = ReplayBuffer(cfg.projection.buffer_size)

    # ----------------------------------------------------------------------------- construction
    def _policy(self, key: str) -> PolicyNet:
        n, log_std = self.cfg.network, float(self.cfg.network.init_log_std)
        if key == IMAGE:
            return ImagePolicy(
                self.info.image_shape,
                self.action_size,
                self.discrete,
                self.frame_window,
                n.image_hidden,
                n.features,
                log_std,
            )
        return StatePolicy(
            self._dim(key), self.action_size, self.discrete, n.hidden, log_std, *self._input_norm(key)
        )

    def _value(self, key: str) -> nn.Module:
        n = self.cfg.network
        if key == IMAGE:
            return ImageValue(
                self.info.image_shape, self.frame_window, n.image_hidden, n.features, n.value_scale
            )
        return StateValue(self._dim(key), n.hidden, n.value_scale, *self._input_norm(key))

    def _input_norm(self, key: str) -> tuple[list[float] | None, list[float] | None]:
        """The fixed (offset, scale) for the privileged state, if the preset gives one."""
        n = self.cfg.network
        if key != STATE:
            return None, None
        return n.get("state_offset"), n.get("state_scale")

    def _dim(self, key: str) -> int:
        if key == STATE:
            return int(self.info.state_dim)
        if key == PARTIAL:
            if self.info.partial_state_dim is None:
                raise ValueError(f"environment {self.info.name!r} has no partial_state")
            return int(self.info.partial_state_dim)
        raise ValueError(f"unknown input {key!r}")

    def _build(self, expert_state: dict[str, Any] | None) -> None:
        c, m = self.cfg, self.cfg.method
        self.actor_key = c.expert_input if m in ("rl", "a2d", "ail") else IMAGE
        self.critic_key = c.critic_input if m == "rl" else STATE
        self.trainee_key = c.trainee_input
        self.trainee_critic_key = c.trainee_critic_input or c.trainee_input
        if m == "ail":
            self.nets["trainee"] = self._policy(self.trainee_key)
        elif m == "preenc":
            n = c.network
            self.nets["actor"] = PreEncPolicy(
                self.info.image_shape,
                self.info.state_dim,
                self.action_size,
                self.discrete,
                self.frame_window,
                n.hidden,
                float(n.init_log_std),
            )
        else:
            self.nets["actor"] = self._policy(self.actor_key)
        if m in ("ail", "preenc"):
            # The fixed expert (an RL (MDP) checkpoint or a hand-coded controller); it never trains.
            if c.get("expert_script"):
                if self.discrete:
                    raise ValueError("expert_script needs a continuous-action environment")
                self.nets["expert"] = ScriptedPolicy(
                    c.expert_script, self._dim(STATE), self.action_size, float(c.expert_script_log_std)
                )
            else:
                self.nets["expert"] = self._policy(STATE)
            if expert_state is not None:
                self.nets["expert"].load_state_dict(expert_state)
            for p in self.nets["expert"].parameters():
                p.requires_grad_(False)
        if m in ("rl", "a2d", "preenc"):
            self.nets["actor_value"] = self._value(self.critic_key)
        if m == "a2d":
            self.nets["trainee"] = self._policy(self.trainee_key)
            self.nets["trainee_value"] = self._value(self.trainee_critic_key)
        adam = lambda params, lr: torch.optim.Adam(params, lr=lr, eps=1e-5)
        for name in ("actor_value", "trainee_value"):
            if name in self.nets:
                self.optims[name] = adam(self.nets[name].parameters(), c.value.lr)
        if "trainee" in self.nets:
            self.optims["trainee"] = adam(self.nets["trainee"].parameters(), c.projection.lr)
        if "actor" in self.nets and c.rl.algo == "ppo":
            self.optims["actor"] = adam(
                [p for p in self.nets["actor"].parameters() if p.requires_grad], c.rl.ppo.lr
            )
        if m == "preenc":
            self.optims["encoder"] = adam(self.nets["actor"].parameters(), c.preenc.lr)

    # ----------------------------------------------------------------------------- roles
    @property
    def expert(self) -> Actor | None:
        """The state policy that imitation targets: the RL'd expert (A2D) or the fixed one (AIL)."""
        if "expert" in self.nets:
            return Actor(self.nets["expert"], STATE)  # type: ignore[arg-type]
        if self.cfg.method == "a2d":
            return Actor(self.nets["actor"], self.actor_key)  # type: ignore[arg-type]
        return None

    @property
    def trainee(self) -> Actor | None:
        if "trainee" in self.nets:
            return Actor(self.nets["trainee"], self.trainee_key)  # type: ignore[arg-type]
        return None

    @property
    def deployable(self) -> Actor:
        """The policy that runs on the robot: the trainee, or the single RL policy."""
        if self.trainee is not None:
            return self.trainee
        return Actor(self.nets["actor"], self.actor_key)  # type: ignore[arg-type]

    def beta(self, iteration: int | None = None) -> float:
        it = self.iteration if iteration is None else iteration
        m = self.cfg.method
        if m == "a2d":
            a = self.cfg.a2d
            return beta_at(it, a.beta_init, a.beta_decay, a.beta_floor)
        if m == "ail":
            return 1.0 if it == 0 else 0.0
        return 1.0

    def input_keys(self) -> tuple[str, ...]:
        keys = [self.actor_key, self.critic_key] if "actor" in self.nets else []
        if self.trainee is not None:
            keys += [STATE, self.trainee_key]
        if "trainee_value" in self.nets:
            keys.append(self.trainee_critic_key)
        return tuple(dict.fromkeys(keys))

    # ----------------------------------------------------------------------------- iteration
    def step_size_scale(self) -> float:
        """Multiplier of the policy step (TRPO max KL, PPO learning rate) for the coming iteration.

        ``rl.anneal: linear`` decays it from 1 to 1/num_iterations over ``total_steps`` (CleanRL's
        ``anneal_lr``). Why: with standardised advantages every TRPO step moves the expert by the
        full max KL even when the advantages are noise, so the trainee chases a moving target
        and the A2D divergence plateaus at the per-step move; a shrinking step lets it settle.
        """
        if str(self.cfg.rl.get("anneal", "none")) == "none":
            return 1.0
        total = max(int(self.cfg.total_steps), 1)
        return max(1.0 - self.env_steps / total, 1.0 / max(total // self.batch_size, 1))

    @property
    def batch_size(self) -> int:
        return int(self.cfg.num_envs) * int(self.cfg.rollout_steps)

    def iteration_seed(self, stream: int) -> int:
        return derive_seed(self.cfg.seed, self.iteration, stream)

    def train_iteration(self) -> dict[str, float]:
        """Rollout + RL step + projection step for the current iteration; advances the counters."""
        c = self.cfg
        gen = torch.Generator().manual_seed(self.iteration_seed(1))
        stats: dict[str, float] = {}
        if c.method == "preenc" and not self.preenc_done:
            stats.update(self.pretrain_encoder(gen))
        beta = self.beta()
        scale = self.step_size_scale()
        m = c.method
        behaviour_expert: Actor | None
        if m in ("rl", "preenc"):
            behaviour_expert, behaviour_trainee = Actor(self.nets["actor"], self.actor_key), None  # type: ignore
        else:
            behaviour_expert, behaviour_trainee = self.expert, self.trainee
        t0 = time.perf_counter()
        ro = collect(
            self.env,
            c.rollout_steps,
            behaviour_expert,
            behaviour_trainee,
            beta,
            self.input_keys(),
            self.frame_window,
            self.iteration_seed(0),
            gen,
            self.discrete,
            self.low,
            self.high,
        )
        self.env_steps += ro.num_steps
        stats["time_rollout"] = time.perf_counter() - t0
        stats.update(beta=beta, expert_action_frac=float(ro.expert_acted.float().mean()))
        if ro.episode_returns:
            stats["train_return"] = float(np.mean(ro.episode_returns))
            stats["train_episode_length"] = float(np.mean(ro.episode_lengths))
        if m in ("rl", "a2d", "preenc"):
            t0 = time.perf_counter()
            stats.update(self.rl_update(ro, beta, gen, scale))
            stats["time_rl"] = time.perf_counter() - t0
        if m in ("a2d", "ail"):
            flat = lambda x: x.reshape(-1, *x.shape[2:])
            self.buffer.add(
                {STATE: flat(ro.inputs[STATE]), self.trainee_key: flat(ro.inputs[self.trainee_key])}
            )
            t0 = time.perf_counter()
            stats.update(self.projection_step(gen))
            stats["time_projection"] = time.perf_counter() - t0
        self.iteration += 1
        return stats

    # ----------------------------------------------------------------------------- RL step
    def _values(self, name: str, key: str, ro: Rollout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """V on every rollout input, the bootstrap inputs and the pre-reset final inputs."""
        T, N = ro.rewards.shape
        x = torch.cat(
            [ro.inputs[key].reshape(T * N, *ro.inputs[key].shape[2:]), ro.last[key], ro.finals[key]]
        )
        v = batched_forward(self.nets[name], x)
        return v[: T * N].view(T, N), v[T * N : T * N + N], v[T * N + N :]

    @torch.no_grad()
    def advantages(self, ro: Rollout, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixture-value GAE (eqs. 28–29) and the λ-returns both critics regress."""
        c = self.cfg
        va = self._values("actor_value", self.critic_key, ro)
        vt = (
            self._values("trainee_value", self.trainee_critic_key, ro)
            if "trainee_value" in self.nets and beta < 1.0
            else (None, None, None)
        )
        V, V_last, V_fin = (mixture_value(a, b, beta) for a, b in zip(va, vt, strict=True))
        next_v = torch.cat([V[1:], V_last[None]])
        terminated = ro.terminated
        if c.rl.bootstrap_truncation:
            if ro.final_t.numel():
                next_v[ro.final_t, ro.final_n] = V_fin
        else:
            terminated = ro.dones
        adv = gae(ro.rewards, V, next_v, terminated, ro.dones, c.rl.gamma, c.rl.lam)
        return adv, adv + V

    def fit_value(self, name: str, x: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> float:
        v = self.cfg.value
        net, opt = self.nets[name], self.optims[name]
        with torch.no_grad():
            old = batched_forward(net, x) if v.clip > 0 else None
        n, total, steps = target.shape[0], 0.0, 0
        for _ in range(int(v.epochs)):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, int(v.minibatch)):
                idx = perm[i : i + int(v.minibatch)]
                loss = value_loss(net(x[idx]), target[idx], None if old is None else old[idx], v.clip)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach())
                steps += 1
        return total / max(steps, 1)

    def rl_update(
        self, ro: Rollout, beta: float, gen: torch.Generator, step_scale: float = 1.0
    ) -> dict[str, float]:
        c = self.cfg
        T, N = ro.rewards.shape
        flat = lambda t: t.reshape(T * N, *t.shape[2:])
        adv, ret = self.advantages(ro, beta)
        adv, ret = flat(adv), flat(ret)
        actor: PolicyNet = self.nets["actor"]  # type: ignore[assignment]
        x = flat(ro.inputs[self.actor_key])
        a = flat(ro.actions)
        with torch.no_grad():
            old_out = batched_forward(actor, x)
            old_dist = detached_distribution(actor, old_out)
            logp_old = old_dist.log_prob(a)
            weight = None
            trainee_dist = None
            kl_coef = float(c.a2d.expert_kl_coef) if c.method == "a2d" else 0.0
            if c.method == "a2d" and (beta < 1.0 or kl_coef > 0):
                trainee: PolicyNet = self.nets["trainee"]  # type: ignore[assignment]
                t_out = batched_forward(trainee, flat(ro.inputs[self.trainee_key]))
                trainee_dist = detached_distribution(trainee, t_out)
                if beta < 1.0:
                    weight = importance_weight(logp_old, trainee_dist.log_prob(a), beta)
        adv_n = normalize(adv) if c.rl.normalize_adv else adv
        stats: dict[str, float] = {"adv_mean": float(adv.mean()), "return_target_mean": float(ret.mean())}
        if weight is not None:
            stats["iw_mean"] = float(weight.mean())
            stats["iw_max"] = float(weight.max())
        # Critics first (the advantages above were computed with the pre-update values).
        t_value = time.perf_counter()
        stats["value_loss"] = self.fit_value("actor_value", flat(ro.inputs[self.critic_key]), ret, gen)
        if "trainee_value" in self.nets:
            stats["trainee_value_loss"] = self.fit_value(
                "trainee_value", flat(ro.inputs[self.trainee_critic_key]), ret, gen
            )
        stats["time_value"] = time.perf_counter() - t_value
        wadv = adv_n if weight is None else adv_n * weight
        ent_coef = float(c.rl.entropy_coef)
        if c.rl.algo == "trpo":
            t = c.rl.trpo
            n_f = max(int(t.fisher_fraction * x.shape[0]), min(x.shape[0], 64))
            idx_f = torch.randperm(x.shape[0], generator=gen)[:n_f]
            old_f = detached_distribution(actor, old_out[idx_f])

            def surrogate() -> torch.Tensor:
                d = actor.dist(x)
                s = (torch.exp(d.log_prob(a) - logp_old) * wadv).mean()
                if ent_coef:
                    s = s + ent_coef * d.entropy().mean()
                if kl_coef and trainee_dist is not None:
                    s = s - kl_coef * kl_divergence(d, trainee_dist).mean()
                return s

            def kl_all() -> torch.Tensor:
                return kl_divergence(old_dist, actor.dist(x)).mean()

            def kl_fisher() -> torch.Tensor:
                return kl_divergence(old_f, actor.dist(x[idx_f])).mean()

            st = trpo_step(
                list(actor.parameters()),
                surrogate,
                kl_all,
                kl_fisher,
                t.max_kl * step_scale,
                t.damping,
                t.cg_iters,
                t.backtrack_iters,
                t.accept_ratio,
            )
        elif c.rl.algo == "ppo":
            p = c.rl.ppo
            for group in self.optims["actor"].param_groups:
                group["lr"] = float(p.lr) * step_scale
            st = ppo_step(
                actor,
                self.optims["actor"],
                x,
                a,
                logp_old,
                adv_n,
                weight,
                epochs=p.epochs,
                minibatch=p.minibatch,
                clip=p.clip,
                entropy_coef=ent_coef,
                max_grad_norm=p.max_grad_norm,
                generator=gen,
                target_kl=p.target_kl,
                penalty=None
                if not kl_coef or trainee_dist is None
                else lambda idx, d: kl_coef * kl_divergence(d, _index_dist(trainee_dist, idx)).mean(),
            )
        else:
            raise ValueError(f"unknown rl.algo {c.rl.algo!r} (trpo or ppo)")
        with torch.no_grad():
            stats["policy_entropy"] = float(actor.dist(x).entropy().mean())
        stats.update({f"rl_{k}": v for k, v in st.items()})
        stats["rl_step_scale"] = step_scale
        return stats

    # ----------------------------------------------------------------------------- projection step
    def projection_step(self, gen: torch.Generator) -> dict[str, float]:
        """Eq. 18: epochs of minibatch Adam on KL(π_θ(·|s) ‖ π_ψ(·|o)) over the replay buffer."""
        p = self.cfg.projection
        expert, trainee = self.expert, self.trainee
        assert expert is not None and trainee is not None
        e_net, t_net = expert.policy, trainee.policy
        opt = self.optims["trainee"]
        n = self.buffer.size
        total, steps = 0.0, 0
        augment = bool(p.augment) and self.trainee_key == IMAGE
        for _ in range(int(p.epochs)):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, int(p.minibatch)):
                idx = perm[i : i + int(p.minibatch)]
                s = self.buffer.get(STATE, idx)
                o = self.buffer.get(self.trainee_key, idx)
                if augment:
                    o = augment_images(o, gen)
                with torch.no_grad():
                    e_dist = detached_distribution(e_net, e_net(s))
                loss = kl_divergence(e_dist, t_net.distribution(t_net(o))).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach())
                steps += 1
        return {"projection_loss": total / max(steps, 1)}

    # ----------------------------------------------------------------------------- Pre-Enc
    def pretrain_encoder(self, gen: torch.Generator) -> dict[str, float]:
        """Pre-Enc phase 1: regress image -> state on deterministic expert rollouts, then freeze."""
        c = self.cfg
        expert = Actor(self.nets["expert"], STATE)  # type: ignore[arg-type]
        steps = max(1, int(c.preenc.samples) // self.env.num_envs)
        ro = _collect_deterministic(
            self.env,
            steps,
            expert,
            self.frame_window,
            self.iteration_seed(7),
            gen,
            self.discrete,
            self.low,
            self.high,
        )
        self.env_steps += ro.num_steps
        pol: PreEncPolicy = self.nets["actor"]  # type: ignore[assignment]
        imgs = ro.inputs[IMAGE].reshape(-1, *ro.inputs[IMAGE].shape[2:])
        states = ro.inputs[STATE].reshape(-1, ro.inputs[STATE].shape[-1])
        opt = self.optims["encoder"]
        n, mb, loss_v = imgs.shape[0], int(c.preenc.minibatch), 0.0
        for _ in range(int(c.preenc.epochs)):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, mb):
                idx = perm[i : i + mb]
                o = augment_images(imgs[idx], gen) if c.projection.augment else imgs[idx]
                loss = ((pol.encode(o) - states[idx]) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_v = float(loss.detach())
        pol.freeze_encoder()
        self.preenc_done = True
        return {"preenc_loss": loss_v}

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(self, eval_env, episodes_seed: int) -> dict[str, float]:
        """Deterministic and stochastic returns of the deployable policy (and the expert), and F(ψ)."""
        out: dict[str, float] = {}
        dep = self.deployable
        exp = self.expert
        rec = (STATE, dep.key) if exp is not None and self.trainee is not None else ()
        r_det, _ = run_episodes(eval_env, dep, True, episodes_seed, self.frame_window)
        r_sto, visited = run_episodes(eval_env, dep, False, episodes_seed + 1, self.frame_window, rec)
        out.update(eval_return_det=float(r_det.mean()), eval_return_stoch=float(r_sto.mean()))
        if rec:
            assert exp is not None
            out["divergence"] = divergence(exp, dep, visited)
        if self.cfg.method == "a2d" and exp is not None:
            e_det, _ = run_episodes(eval_env, exp, True, episodes_seed, self.frame_window)
            e_sto, _ = run_episodes(eval_env, exp, False, episodes_seed + 1, self.frame_window)
            out.update(expert_return_det=float(e_det.mean()), expert_return_stoch=float(e_sto.mean()))
        return out

    # ----------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "preenc_done": self.preenc_done,
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "optims": {k: v.state_dict() for k, v in self.optims.items()},
            "buffer": self.buffer.state_dict(),
            "frozen": {
                k: [n for n, p in v.named_parameters() if not p.requires_grad] for k, v in self.nets.items()
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])
        self.preenc_done = bool(state.get("preenc_done", False))
        for k, v in state["nets"].items():
            self.nets[k].load_state_dict(v)
        for k, names in state.get("frozen", {}).items():
            params = dict(self.nets[k].named_parameters())
            for n in names:
                params[n].requires_grad_(False)
        for k, v in state["optims"].items():
            self.optims[k].load_state_dict(v)
        self.buffer.load_state_dict(state["buffer"])


def _collect_deterministic(
    env,
    steps: int,
    expert: Actor,
    frame_window: int,
    seed: int,
    gen: torch.Generator,
    discrete: bool,
    low: np.ndarray | None,
    high: np.ndarray | None,
) -> Rollout:
    """Deterministic expert rollouts (argmax/mean actions) with image windows, for Pre-Enc."""

    class _Argmax(nn.Module):
        def __init__(self, p: PolicyNet) -> None:
            super().__init__()
            self.p = p
            self.discrete = p.discrete
            if not p.discrete:
                self.log_std = nn.Parameter(torch.full_like(p.log_std, -20.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.p(x)
            return out * 1e4 if self.discrete else out  # near-deterministic sampling

    det = Actor(_Argmax(expert.policy), STATE)  # type: ignore[arg-type]
    return collect(env, steps, det, None, 1.0, (STATE, IMAGE), frame_window, seed, gen, discrete, low, high)
