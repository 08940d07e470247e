"""Child ROS 2 processes that are always stopped, even when the caller fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]


def ros_package_path() -> Path:
    """Source folder of the asymlearn_ros package, so nodes run without a colcon build too."""
    return REPO_ROOT / "ros2_ws" / "src" / "asymlearn_ros"


class NodeProcess:
    """A node in its own process, its output captured to a log file.

    Use as a context manager: on exit it sends SIGINT (rclpy's clean shutdown), then
    SIGTERM, then SIGKILL, so no node outlives a failed test.
    """

    def __init__(
        self,
        module: str,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        log_path: str | Path | None = None,
        name: str | None = None,
    ) -> None:
        self.module = module
        self.args = list(args or [])
        self.env = dict(os.environ if env is None else env)
        self.name = name or module.rsplit(".", 1)[-1]
        default_log = Path(self.env.get("ROS_LOG_DIR", ".")) / f"{self.name}.out"
        self.log_path = Path(log_path) if log_path else default_log
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> NodeProcess:
        pkg = str(ros_package_path())
        paths = [pkg, str(REPO_ROOT), self.env.get("PYTHONPATH", "")]
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_output(self, text: str, timeout: float = 20.0) -> bool:
        """Wait until the node prints `text` (e.g. its ready line); False if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if not self.alive():
                return False
            time.sleep(0.05)
        return False

    def wait_for_exit(self, timeout: float) -> int | None:
        """The exit code once the node has exited by itself, or None if it still runs after ``timeout``."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 5.0) -> int | None:
        if self.proc is None:
            return None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def clean_fastdds_shm() -> None:
    """Remove Fast DDS shared-memory files left by killed processes (`fastdds shm clean`)."""
    tool = shutil.which("fastdds") or str(Path(sys.executable).parent / "fastdds")
    if Path(tool).exists():
        subprocess.run([tool, "shm", "clean"], capture_output=True, check=False, timeout=30)
