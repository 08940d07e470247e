"""ROBEL's D'Claw (three 3-joint fingers turning a valve) on modern MuJoCo, plus its hardware bridge.

ROBEL itself needs mujoco-py and MuJoCo 2.0, so only its model files are reused
(``scripts/fetch_robel.sh``); task logic, rewards, rendering and the Dynamixel layer are
this package's own. Submodules are imported lazily: the hardware bridge must not pull in
MuJoCo, and the simulation must not need the Dynamixel SDK.
"""
