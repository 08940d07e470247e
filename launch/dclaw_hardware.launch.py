"""Real D'Claw: the bridge node's hardware backend + ONNX policy node (config/dclaw_hardware.yaml).

The bridge (backend hardware) opens the Dynamixel bus on the parameter ``device``,
publishes joint_states and sends every target through the SafetyLayer. The policy node's
camera is yours: set policy_node.image_topic to your camera driver's topic.

Kept declarative on purpose: `asymlearn deploy dclaw_hardware` reads the Node(...) calls of this
file without importing launch (see training/deploy.py for the supported subset), so
both runners start the same nodes with the same parameters.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch_ros.actions import Node

from launch import LaunchDescription

CONFIG = os.path.join(get_package_share_directory("asymlearn_ros"), "config", "dclaw_hardware.yaml")


def generate_launch_description():
    return LaunchDescription(
        [
            Node(
                package="asymlearn_ros",
                executable="sim_bridge_node",
                name="sim_bridge",
                parameters=[CONFIG],
                remappings=[("action", "policy/action")],
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
