"""V-MAIL (Rafailov et al., NeurIPS 2021): variational model-based adversarial imitation learning.

Algorithm code only (no environments, files or CLI): ``rssm``/``networks`` (world model),
``losses``, ``discriminator``, ``behavior`` (actor/value), ``replay``, ``agent`` (one update
of Algorithm 1 and acting), ``algorithm`` (the collection/training loop), ``transfer``
(Algorithm 2) and ``deploy`` (the ONNX policy module).
"""
