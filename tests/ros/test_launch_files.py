"""Every launch file names real executables and parameter files, and parses for both runners."""

from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path

import pytest
import yaml

from training.deploy import LAUNCH_DIR, check_node, console_scripts, node_arguments, read_launch_file

LAUNCH_FILES = sorted(LAUNCH_DIR.glob("*.launch.py"))


def test_there_are_launch_files() -> None:
    names = {p.name for p in LAUNCH_FILES}
    assert {"tiger_door.launch.py", "frozen_lake.launch.py", "driving.launch.py"} <= names
    assert {"carla.launch.py", "dclaw.launch.py", "dclaw_hardware.launch.py"} <= names


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_names_existing_executables_and_parameter_files(path: Path) -> None:
    nodes = read_launch_file(path)
    assert nodes
    scripts = console_scripts()
    for node in nodes:
        check_node(node)
        assert node.executable in scripts
        for item in node.parameters:
            if isinstance(item, Path):
                data = yaml.safe_load(item.read_text())
                # rcl matches a node by its name, its full name, or "/**/name" (any namespace).
                keys = [k for k in (node.name, node.fqn, f"/**/{node.name}") if k in data]
                assert keys and "ros__parameters" in data[keys[0]], (item, node.name)
        assert "--params-file" in node_arguments(node, {})


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_loads_with_ros2_launch(path: Path) -> None:
    if importlib.util.find_spec("launch_ros") is None or importlib.util.find_spec("launch") is None:
        pytest.skip("launch/launch_ros are not installable from pip here (see shared/platform.md)")
    description = runpy.run_path(str(path))["generate_launch_description"]()
    assert len(description.entities) == len(read_launch_file(path))
