"""Tiger Door, Frozen Lake and the Tiger Door variants TD-1/2/3 as natively batched numpy envs.

Modules: ``layouts`` (maps and state layouts), ``render`` (tiles and camera noise), ``core``
(vectorised dynamics), ``envs`` (the AsymmetricEnv / BatchedEnv front ends and factories) and
``oracle`` (scripted optimal MDP / POMDP / averaged policies for tests and as experts).
"""
