"""Simulated D'Claw: simulator bridge + ONNX policy node (parameters in config/dclaw.yaml).

Besides the camera the bridge (profile dclaw) publishes joint_states and takes joint
position targets on joint_trajectory / joint_commands.

Kept declarative on purpose: `asymlearn deploy dclaw` reads the Node(...) calls of this
file without importing launch (see training/deploy.py for the supported subset), so
both runners start the same nodes with the same parameters.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch_ros.actions import Node

from launch import LaunchDescription

CONFIG = os.path.join(get_package_share_directory("asymlearn_ros"), "config", "dclaw.yaml")


def generate_launch_description():
    return LaunchDescription(
        [
            Node(
                package="asymlearn_ros",
                executable="sim_bridge_node",
                name="sim_bridge",
                parameters=[CONFIG],
                remappings=[
                    ("image", "camera/image"),
                    ("camera_info", "camera/camera_info"),
                    ("action", "policy/action"),
                ],
                output="screen",
            ),
            Node(
                package="asymlearn_ros",
                executable="policy_node",
                name="policy_node",
                parameters=[CONFIG],
                output="screen",
            ),
        ]
    )
