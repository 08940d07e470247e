"""The occluded-pedestrian driving scenario (A2D's AV experiment) as an embedded MuJoCo simulation.

Modules, one job each: ``config`` (all numbers), ``vehicle`` (bicycle model), ``pedestrian``
(the child's trigger, motion and visibility), ``world`` (MJCF generation), ``camera``
(offscreen rendering), ``observations`` (vector layouts), ``expert`` (scripted drivers),
``env`` (the ``AsymmetricEnv``).

Importing this package sets ``MUJOCO_GL=egl`` unless the caller already chose a backend:
headless machines have no window system, and EGL works with Mesa's software renderer.
It has to happen before MuJoCo is first imported, hence here.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
