"""`asymlearn deploy`: run a launch file's nodes without `ros2 launch` (not installable here).

Why a second runner: ``launch``/``launch_ros`` do not exist as pip wheels, but the launch
files under ``launch/`` must stay real ros2 launch files for full ROS installs. So this
module READS them (``ast``, never imports them) and starts the same nodes with the same
parameter files through :class:`training.ros_launch.NodeProcess`, with the network
discipline (localhost discovery, own domain id, private network namespace).

Supported launch-file subset (anything else is an error naming the line):

* module-level ``NAME = <expr>`` assignments, referable later by name;
* ``def generate_launch_description():`` whose ``return`` is
  ``LaunchDescription([Node(...), ...])``;
* ``Node`` keyword arguments: ``package``, ``executable``, ``name``, ``namespace`` (string
  literals), ``parameters`` (list of file paths or ``{"key": literal}`` dicts),
  ``remappings`` (list of ``("from", "to")`` string pairs), ``arguments`` (list of
  strings), ``output``/``emulate_tty`` (ignored);
* path expressions: string literals, names, ``os.path.join(...)``,
  ``os.path.dirname(__file__)`` and ``get_package_share_directory("asymlearn_ros")``,
  which resolves to the repository's ``launch/`` folder (its ``config/`` is what setup.py
  installs as ``share/asymlearn_ros/config``), so a deployment uses the source tree.

Executables are the console_scripts of the asymlearn_ros setup.py, run as
``python -m asymlearn_ros.<module>``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.ros_launch import NodeProcess, discovery_env, in_private_netns, reexec_in_private_netns
from training.ros_launch.processes import REPO_ROOT, ros_package_path

LAUNCH_DIR = REPO_ROOT / "launch"
PACKAGE = "asymlearn_ros"


class LaunchFileError(ValueError):
    """A launch file outside the supported subset (the message names file and line)."""


@dataclass
class LaunchNode:
    """One Node(...) action of a launch file."""

    package: str
    executable: str
    name: str
    namespace: str = ""
    parameters: list[Path | dict[str, Any]] = field(default_factory=list)
    remappings: list[tuple[str, str]] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)

    @property
    def fqn(self) -> str:
        return "/" + "/".join(p for p in (self.namespace.strip("/"), self.name) if p)


# --- launch file reading -------------------------------------------------------------------
class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.names: dict[str, Any] = {}

    def fail(self, node: ast.AST, problem: str) -> LaunchFileError:
        return LaunchFileError(f"{self.path}:{getattr(node, 'lineno', '?')}: {problem}")

    def value(self, node: ast.AST) -> Any:
        """Evaluate the small expression language described in the module docstring."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return str(self.path)
            if node.id in self.names:
                return self.names[node.id]
            raise self.fail(node, f"unknown name {node.id!r}")
        if isinstance(node, ast.List | ast.Tuple):
            return [self.value(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {self.value(k): self.value(v) for k, v in zip(node.keys, node.values, strict=True)}
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            args = [self.value(a) for a in node.args]
            if func == "os.path.join":
                return os.path.join(*args)
            if func == "os.path.dirname":
                return os.path.dirname(*args)
            if func == "get_package_share_directory":
                return self.share_directory(node, *args)
            raise self.fail(node, f"unsupported call {func}(...)")
        raise self.fail(node, f"unsupported expression {ast.unparse(node)!r}")

    def share_directory(self, node: ast.AST, package: str) -> str:
        if package == PACKAGE:
            return str(LAUNCH_DIR)
        try:
            from ament_index_python.packages import get_package_share_directory

            return get_package_share_directory(package)
        except Exception as exc:
            raise self.fail(node, f"package {package!r} not found: {exc}") from None

    def node(self, call: ast.Call) -> LaunchNode:
        if ast.unparse(call.func) not in ("Node", "launch_ros.actions.Node"):
            raise self.fail(call, f"only Node(...) actions are supported, got {ast.unparse(call.func)}")
        if call.args:
            raise self.fail(call, "Node(...) takes keyword arguments only")
        kwargs = {kw.arg: kw.value for kw in call.keywords}
        unknown = set(kwargs) - {
            "package",
            "executable",
            "name",
            "namespace",
            "parameters",
            "remappings",
            "arguments",
            "output",
            "emulate_tty",
        }
        if unknown:
            raise self.fail(call, f"unsupported Node arguments: {sorted(unknown)}")
        for required in ("package", "executable"):
            if required not in kwargs:
                raise self.fail(call, f"Node(...) needs {required}=")
        parameters: list[Path | dict[str, Any]] = []
        for item in self.value(kwargs["parameters"]) if "parameters" in kwargs else []:
            parameters.append(item if isinstance(item, dict) else Path(item))
        remappings = [tuple(pair) for pair in self.value(kwargs.get("remappings", ast.List(elts=[])))]
        if not all(len(p) == 2 and all(isinstance(s, str) for s in p) for p in remappings):
            raise self.fail(call, "remappings must be (from, to) string pairs")
        executable = self.value(kwargs["executable"])
        return LaunchNode(
            package=self.value(kwargs["package"]),
            executable=executable,
            name=self.value(kwargs["name"]) if "name" in kwargs else executable,
            namespace=self.value(kwargs["namespace"]) if "namespace" in kwargs else "",
            parameters=parameters,
            remappings=remappings,  # type: ignore[arg-type]
            arguments=[str(a) for a in self.value(kwargs.get("arguments", ast.List(elts=[])))],
        )

    def read(self) -> list[LaunchNode]:
        tree = ast.parse(self.path.read_text(), str(self.path))
        generate = None
        for stmt in tree.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
            ):
                self.names[stmt.targets[0].id] = self.value(stmt.value)
            elif isinstance(stmt, ast.FunctionDef) and stmt.name == "generate_launch_description":
                generate = stmt
        if generate is None:
            raise LaunchFileError(f"{self.path}: no generate_launch_description()")
        returns = [s for s in generate.body if isinstance(s, ast.Return)]
        if len(returns) != 1 or not isinstance(returns[0].value, ast.Call):
            raise self.fail(
                generate, "generate_launch_description() must end in return LaunchDescription([...])"
            )
        call = returns[0].value
        if (
            ast.unparse(call.func) != "LaunchDescription"
            or len(call.args) != 1
            or not isinstance(call.args[0], ast.List)
        ):
            raise self.fail(call, "expected LaunchDescription([Node(...), ...])")
        nodes = []
        for element in call.args[0].elts:
            if not isinstance(element, ast.Call):
                raise self.fail(element, "LaunchDescription entries must be Node(...) calls")
            nodes.append(self.node(element))
        return nodes


def read_launch_file(path: str | Path) -> list[LaunchNode]:
    """The Node actions of a launch file in the supported subset (module docstring)."""
    return _Reader(Path(path).resolve()).read()


def resolve_launch_file(name: str) -> Path:
    """``tiger_door`` -> launch/tiger_door.launch.py; a path is taken as is."""
    path = Path(name)
    if path.suffix == ".py" or path.exists():
        return path
    return LAUNCH_DIR / f"{name}.launch.py"


def console_scripts() -> dict[str, str]:
    """asymlearn_ros console_scripts: executable -> module (read from setup.py)."""
    text = (ros_package_path() / "setup.py").read_text()
    return dict(re.findall(r'"(\w+) = ([\w.]+):main"', text))


def check_node(node: LaunchNode) -> None:
    """Raise LaunchFileError when an executable or parameter file does not exist."""
    if node.package != PACKAGE:
        raise LaunchFileError(
            f"{node.fqn}: package {node.package!r} is not {PACKAGE}; cannot run it without ros2"
        )
    if node.executable not in console_scripts():
        raise LaunchFileError(
            f"{node.fqn}: executable {node.executable!r} is not a console_script of {PACKAGE}"
        )
    for item in node.parameters:
        if isinstance(item, Path) and not item.is_file():
            raise LaunchFileError(f"{node.fqn}: parameter file {item} does not exist")


def node_arguments(node: LaunchNode, overrides: dict[str, str]) -> list[str]:
    """The command-line arguments that make `python -m module` the launch file's node."""
    args = [*node.arguments, "--ros-args", "-r", f"__node:={node.name}"]
    if node.namespace:
        args += ["-r", f"__ns:=/{node.namespace.strip('/')}"]
    for item in node.parameters:
        if isinstance(item, Path):
            args += ["--params-file", str(item)]
        else:
            for key, value in item.items():
                args += ["-p", f"{key}:={json.dumps(value) if not isinstance(value, str) else value}"]
    for key, value in overrides.items():
        args += ["-p", f"{key}:={value}"]
    for src, dst in node.remappings:
        args += ["-r", f"{src}:={dst}"]
    return args


def parse_overrides(items: list[str], nodes: list[LaunchNode]) -> dict[str, dict[str, str]]:
    """``["policy_node.model_path=/m.onnx"]`` -> ``{"policy_node": {"model_path": "/m.onnx"}}``."""
    names = {n.name for n in nodes}
    out: dict[str, dict[str, str]] = {n: {} for n in names}
    for item in items:
        target, sep, value = item.partition("=")
        node, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise ValueError(f"--param {item!r}: expected NODE.PARAM=VALUE")
        if node not in names:
            raise ValueError(
                f"--param {item!r}: no node {node!r} in the launch file (nodes: {sorted(names)})"
            )
        out[node][key] = value
    return out


def rollout_in_process(
    env_name: str, model_path: str | Path, seed: int, episodes: int, env_kwargs: dict[str, Any] | None = None
) -> list[float]:
    """Returns of the same lockstep evaluation without ROS (episode i seeded seed + i),
    the reference a deployment through ROS must reproduce exactly."""
    from policies.runtime import PolicyRunner
    from sim_bridges import registry

    env = registry.make(env_name, **(env_kwargs or {}))
    runner = PolicyRunner(model_path)
    returns = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            runner.reset()
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(
                    runner.act(obs["image"], env.info.image_encoding)
                )
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    finally:
        env.close()
    return returns


# --- running --------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "launch",
        help="launch file name in launch/ (e.g. tiger_door, driving, dclaw, carla, dclaw_hardware) or a path",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NODE.PARAM=VALUE",
        help="override a node parameter (repeatable)",
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=0,
        help="evaluate: stop after N episodes and print their returns (sim bridge max_episodes)",
    )
    parser.add_argument("--timeout", type=float, default=0.0, help="stop after this many seconds (0: never)")
    parser.add_argument(
        "--isolate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run inside a private loopback-only network namespace (default: on)",
    )
    parser.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID (default: random 1-101)")
    parser.add_argument("--large-data", action="store_true", help="FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA")
    parser.add_argument("--log-dir", default=None, help="node logs (default: runs/deploy/<launch>-<time>)")
    parser.add_argument("--json", default=None, help="write the evaluation results to this JSON file")
    parser.add_argument("--dry-run", action="store_true", help="print the node commands and exit")


class _SummaryCollector:
    """Subscribes to the bridge's ~/episode_summary in this process (lockstep evaluation)."""

    def __init__(self, topic: str) -> None:
        import rclpy
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import String

        rclpy.init(args=["--ros-args", "--disable-external-lib-logs"])
        self._rclpy = rclpy
        self.node = rclpy.create_node("deploy_evaluator")
        qos = QoSProfile(
            depth=1000, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self.summaries: list[dict[str, Any]] = []
        self.node.create_subscription(String, topic, self._on_summary, qos)

    def _on_summary(self, msg: Any) -> None:
        summary = json.loads(msg.data)
        if not summary.get("aborted"):
            self.summaries.append(summary)

    def spin_once(self, timeout: float) -> None:
        self._rclpy.spin_once(self.node, timeout_sec=timeout)

    def close(self) -> None:
        self.node.destroy_node()
        self._rclpy.try_shutdown()


def deploy(
    launch: str | Path,
    overrides: list[str] | None = None,
    episodes: int = 0,
    timeout: float = 0.0,
    env: dict[str, str] | None = None,
    log_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Start the launch file's nodes, wait (for N episodes, the timeout or Ctrl-C), stop them.

    Returns ``{"returns": [...], "episodes": [summaries], "exit": reason}``. ``env`` must
    already carry the network discipline (see :func:`training.ros_launch.discovery_env`).
    """
    path = resolve_launch_file(str(launch))
    nodes = read_launch_file(path)
    for node in nodes:
        check_node(node)
    per_node = parse_overrides(overrides or [], nodes)
    bridges = [n for n in nodes if n.executable == "sim_bridge_node"]
    if episodes:
        if len(bridges) != 1:
            raise LaunchFileError(
                f"--episodes needs exactly one sim_bridge_node in {path}, found {len(bridges)}"
            )
        per_node[bridges[0].name]["max_episodes"] = str(episodes)
    log_dir = Path(
        log_dir
        or REPO_ROOT / "runs" / "deploy" / f"{path.name.split('.')[0]}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    env = dict(env or discovery_env(log_dir))
    scripts = console_scripts()
    collector = None
    if episodes:
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("ROS_", "FASTDDS_", "RMW_"))})
        collector = _SummaryCollector(f"{bridges[0].fqn}/episode_summary")
        os.environ.clear()
        os.environ.update(saved)
    procs = [
        NodeProcess(
            scripts[n.executable].rsplit(":", 1)[0],
            node_arguments(n, per_node[n.name]),
            env=env,
            log_path=log_dir / f"{n.fqn.strip('/').replace('/', '-')}.out",  # unique per namespace
            name=n.fqn.strip("/"),
        )
        for n in nodes
    ]
    result: dict[str, Any] = {"launch": str(path), "log_dir": str(log_dir), "exit": "interrupted"}
    deadline = time.monotonic() + timeout if timeout > 0 else float("inf")
    try:
        for proc in procs:
            proc.start()
            print(f"[deploy] started {proc.name} (pid {proc.proc.pid}), log {proc.log_path}", flush=True)
        while True:
            if collector is not None:
                collector.spin_once(0.05)
                if len(collector.summaries) >= episodes:
                    result["exit"] = "episodes done"
                    break
            else:
                time.sleep(0.1)
            dead = [p for p in procs if not p.alive()]
            if dead:
                code = dead[0].proc.returncode
                if code == 0:  # a node that ends its own job (the online trainer) ends the deployment
                    result["exit"] = f"node {dead[0].name} finished"
                    print(f"[deploy] {result['exit']}", flush=True)
                else:
                    result["exit"] = f"node {dead[0].name} exited with {code}"
                    print(f"[deploy] {result['exit']}; its log:\n{dead[0].output()[-3000:]}", file=sys.stderr)
                break
            if time.monotonic() > deadline:
                result["exit"] = "timeout"
                if collector is not None:  # an evaluation that stalled: show where each node stopped
                    tails = "\n".join(f"--- {p.name}:\n{p.output()[-1500:]}" for p in procs)
                    print(
                        f"[deploy] timeout after {timeout:.0f} s with {len(collector.summaries)}/{episodes} "
                        f"episodes; the end of each node's log:\n{tails}",
                        file=sys.stderr,
                    )
                break
    except KeyboardInterrupt:
        result["exit"] = "interrupted"
    finally:
        for proc in reversed(procs):
            proc.stop()
        if collector is not None:
            result["episodes"] = sorted(collector.summaries, key=lambda s: s["episode"])[:episodes]
            result["returns"] = [s["return"] for s in result["episodes"]]
            collector.close()
    return result


def _raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM behaves like Ctrl-C, so the nodes are always stopped."""
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if args.isolate and not in_private_netns():
        reexec_in_private_netns(["-m", "training.cli", *sys.argv[1:]])
        print(
            "[deploy] warning: no private network namespace available; using localhost-only discovery",
            file=sys.stderr,
        )
    path = resolve_launch_file(args.launch)
    if args.dry_run:
        nodes = read_launch_file(path)
        per_node = parse_overrides(args.param, nodes)
        scripts = console_scripts()
        for n in nodes:
            check_node(n)
            module = scripts[n.executable].rsplit(":", 1)[0]
            print(" ".join([sys.executable, "-m", module, *node_arguments(n, per_node[n.name])]))
        return 0
    log_dir = Path(args.log_dir) if args.log_dir else None
    env = discovery_env(log_dir or REPO_ROOT / "runs" / "deploy" / "ros_log", args.domain_id, args.large_data)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    result = deploy(path, args.param, args.episodes, args.timeout, env, log_dir)
    if args.episodes:
        returns = result.get("returns", [])
        print(json.dumps({"returns": returns, "exit": result["exit"]}))
        if returns:
            mean = sum(returns) / len(returns)
            print(f"[deploy] {len(returns)} episodes, mean return {mean:.4f}")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        return 0 if len(returns) == args.episodes else 1
    finished = result["exit"].endswith(" finished")
    return 0 if finished or result["exit"] in ("interrupted", "timeout") else 1
