"""Per-run logs: CSV (rewritten atomically, safe to resume) and TensorBoard scalars."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any


class RunLogger:
    """Rows keyed by completed iterations; on resume, rows logged after the checkpoint are dropped."""

    def __init__(
        self, run_dir: Path | str, start_iteration: int = 0, start_step: int = 0, tensorboard: bool = True
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.run_dir / "progress.csv"
        self.rows: list[dict[str, Any]] = []
        if self.csv_path.exists() and start_iteration > 0:
            with open(self.csv_path, newline="") as f:
                self.rows = [r for r in csv.DictReader(f) if int(float(r["iteration"])) <= start_iteration]
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=start_step or None)

    def log(self, row: dict[str, Any]) -> None:
        self.rows.append(dict(row))
        self._write_csv()
        if self.writer is not None:
            step = int(row.get("env_steps", row.get("iteration", 0)))
            for k, v in row.items():
                if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                    self.writer.add_scalar(k, v, step)
            self.writer.flush()

    def _write_csv(self) -> None:
        keys: list[str] = []
        for r in self.rows:
            keys.extend(k for k in r if k not in keys)
        tmp = self.csv_path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys, restval="")
            w.writeheader()
            w.writerows(self.rows)
        os.replace(tmp, self.csv_path)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
