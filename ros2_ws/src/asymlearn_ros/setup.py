"""ament_python package for the asymlearn ROS 2 nodes.

The launch files and their parameter YAML live in the repository's top-level launch/
folder (one place for users to look); they are installed into this package's share/
so `ros2 launch asymlearn_ros <file>` finds them.
"""

import os
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "asymlearn_ros"
LAUNCH_DIR = Path(__file__).resolve().parent.parent.parent.parent / "launch"


def _relative(paths: list[str]) -> list[str]:
    # setuptools wants data_files relative to setup.py, even when they live outside it.
    here = Path(__file__).resolve().parent
    return [os.path.relpath(p, here) for p in paths]


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", _relative(sorted(glob(str(LAUNCH_DIR / "*.launch.py"))))),
        (f"share/{PACKAGE}/config", _relative(sorted(glob(str(LAUNCH_DIR / "config" / "*.yaml"))))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="asymlearn maintainers",
    maintainer_email="maintainers@asymlearn.dev",
    description="ROS 2 nodes of asymlearn: ONNX policy node, simulator bridge node, online A2D trainer.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "a2d_trainer_node = asymlearn_ros.a2d_trainer_node:main",
            "batch_bridge_node = asymlearn_ros.batch_bridge_node:main",
            "image_echo = asymlearn_ros.image_echo:main",
            "policy_node = asymlearn_ros.policy_node:main",
            "sim_bridge_node = asymlearn_ros.sim_bridge_node:main",
        ],
    },
)
