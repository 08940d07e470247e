"""The occluded-pedestrian scenario on a real CARLA server (carla 0.9.16 client).

Same observation layout, state vectors and EnvInfo as the embedded MuJoCo scenario
(``sim_bridges.driving``), so training and deployment code runs on either. Geometry,
trigger, reward and termination logic live in pure modules (``geometry``, ``episode``,
``image``) that need no server; ``connection`` and ``env`` talk to CARLA. Importing this
package does not import ``carla``.
"""
