"""`asymlearn train-visual`: a visual imitation baseline trained on recorded demonstrations.

Example::

    asymlearn demos --task cartpole_swingup --episodes 10 --out data/demos/cartpole_swingup
    asymlearn train-visual --method bc --task cartpole_swingup --demos data/demos/cartpole_swingup
    asymlearn train-visual --method sqil --task cartpole_swingup --env-steps 20000

BC learns offline from the demos only; SQIL and DAC (DrQ-SAC) also act in the environment.
Logs ``progress.csv`` (evaluation return against updates / environment steps) and
``checkpoint.pt`` in the run directory (default ``runs/<method>_<task>/seed<k>``). Running the
same command again resumes from that checkpoint (SQIL/DAC also keep their replay in
``replay.pt``); ``--no-resume`` starts afresh.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=["bc", "sqil", "dac"], default="bc", help="baseline")
    parser.add_argument("--task", required=True, help="environment name (must match the demos)")
    parser.add_argument("--demos", default=None, help="episode directory (default data/demos/<task>)")
    parser.add_argument("--run-dir", default=None, help="default runs/<method>_<task>/seed<k>")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--frame-stack", type=int, default=3)
    parser.add_argument("--shift-pad", type=int, default=4, help="DrQ random shift in pixels (0: off)")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="start afresh even if --run-dir holds a checkpoint",
    )
    bc = parser.add_argument_group("bc")
    bc.add_argument("--updates", type=int, default=3000, help="gradient updates")
    parser.add_argument(
        "--eval-every", type=int, default=None, help="updates (bc, default 500) or env steps (sqil/dac, 5000)"
    )
    off = parser.add_argument_group("sqil / dac")
    off.add_argument("--env-steps", type=int, default=20_000, help="agent steps in the environment")
    off.add_argument("--seed-steps", type=int, default=1_000, help="uniform random steps first")


def run(args: argparse.Namespace) -> int:
    import torch

    from training.checkpoint import CheckpointError
    from training.demos.episodes import EpisodeFormatError

    torch.set_num_threads(max(1, args.threads))
    common = {
        "task": args.task,
        "demos": args.demos or f"data/demos/{args.task}",
        "run_dir": args.run_dir or f"runs/{args.method}_{args.task}/seed{args.seed}",
        "batch_size": args.batch_size,
        "eval_every": args.eval_every or (500 if args.method == "bc" else 5000),
        "eval_episodes": args.eval_episodes,
        "seed": args.seed,
    }
    try:
        if args.method == "bc":
            from training.baselines_visual.bc import BCConfig, train_bc

            bc = BCConfig(
                **common,
                frame_stack=args.frame_stack,
                updates=args.updates,
                shift_pad=args.shift_pad,
            )
            result = train_bc(bc, resume=args.resume)
        else:
            from training.baselines_visual.offpolicy import OffPolicyConfig, train_offpolicy
            from training.baselines_visual.sac import SACConfig

            sac = SACConfig(frame_stack=args.frame_stack, shift_pad=args.shift_pad)
            off = OffPolicyConfig(
                method=args.method, **common, env_steps=args.env_steps, seed_steps=args.seed_steps, sac=sac
            )
            result = train_offpolicy(off, resume=args.resume)
    except (FileNotFoundError, EpisodeFormatError, ValueError, CheckpointError) as exc:
        print(f"asymlearn train-visual: {exc}")
        return 2
    print(f"final: eval return {result['eval_return_mean']:.1f}, expert {result['expert_return_mean']:.1f}")
    return 0
