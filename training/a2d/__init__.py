"""A2D (Adaptive Asymmetric DAgger) and its baselines: rollout, losses, TRPO/PPO, replay, trainer.

Entry points: :class:`training.a2d.algorithm.A2DTrainer` (one run's networks and update) and
:func:`training.loop.train` (the outer loop with logging and checkpoints).
"""
