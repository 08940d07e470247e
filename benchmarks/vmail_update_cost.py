"""Seconds per full V-MAIL update (model + discriminator + actor + value), with achieved FLOP/s.

One run measures, side by side: this machine's matrix-product peaks (fp32 and bf16, 2048²,
before and after the updates), then for each configuration one untimed warm-up update that
also counts FLOPs (torch.utils.flop_counter's formulas for every matmul/conv, forward, backward
and the gradient penalty's double backward), then ``--repeats`` timed updates. Data are random
uint8 images and actions: the cost of an update does not depend on the pixels. Configurations:
the paper's model (64x64, batch 50x50) and the CPU preset (``vmail_cpu``), each in fp32 and
with ``vmail_fast`` (bf16 autocast + channels-last). The load average is recorded before and
after, because the machine is shared and timings move with it.

Run: ``asymlearn benchmark vmail_update_cost [--repeats 5] [--threads <cores>] [--skip-paper]``,
on an otherwise idle machine: the headline figure is meant to be this CPU's, not a share of it.
Writes docs/benchmarks/vmail_update_cost.json and .png.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from benchmarks.common import RESULTS_DIR, write_json

PORT_SECONDS_64PX_50x50 = 22.0  # spec vmail.md §7: the public PyTorch port on this machine type
TARGET_SECONDS = 5.0


class FlopCount(TorchDispatchMode):
    """Counts FLOPs of every op torch's flop counter has a formula for.

    (FlopCounterMode itself refuses torch.autograd.grad on leaves, which the GP needs.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.by_op: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.by_op[str(func._overloadpacket).split(".")[-1]] += int(formula(*args, **kwargs, out_val=out))
        return out

    @property
    def total(self) -> int:
        return sum(self.by_op.values())


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(dtype: torch.dtype, n: int = 2048, reps: int = 8, device: str = "cpu") -> float:
    """Best-of-3 GFLOP/s of an n×n matrix product (a GPU gets 4x larger products)."""
    if device.startswith("cuda"):
        n, reps = 4 * n, 4 * reps
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    best = 0.0
    for _ in range(3):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def _batch(rng: np.random.Generator, cfg: Any, action_dim: int) -> dict[str, np.ndarray]:
    b, t, s = cfg.train.batch, cfg.train.length, cfg.image_size
    return {
        "image": rng.integers(0, 256, (b, t, s, s, cfg.channels), dtype=np.uint8),
        "action": rng.uniform(-1, 1, (b, t, action_dim)).astype(np.float32),
    }


def measure_config(presets: str, overrides: list[str], repeats: int, action_dim: int = 6) -> dict[str, Any]:
    from training.vmail.agent import VMAILAgent
    from training.vmail.algorithm import vmail_config

    cfg = vmail_config(presets, overrides)
    torch.manual_seed(0)
    agent = VMAILAgent(cfg, action_dim)
    rng = np.random.default_rng(0)
    data, expert = _batch(rng, cfg, action_dim), _batch(rng, cfg, action_dim)
    counter = FlopCount()
    with counter:
        agent.update(data, expert)  # warm-up, counted
    times, phases = [], collections.defaultdict(list)
    for _ in range(repeats):
        t0 = time.perf_counter()
        m = agent.update(data, expert)
        times.append(time.perf_counter() - t0)
        for k, v in m.items():
            if k.startswith("time_"):
                phases[k[5:]].append(v)
    median = statistics.median(times)
    params = {
        name: sum(p.numel() for p in mod.parameters())
        for name, mod in (
            ("world_model", agent.world),
            ("actor", agent.actor),
            ("value", agent.value),
            ("disc", agent.disc),
        )
    }
    return {
        "presets": presets,
        "overrides": overrides,
        "device": str(agent.device),
        "precision": cfg.precision,
        "channels_last": bool(cfg.channels_last),
        "image": f"{cfg.image_size}x{cfg.image_size}x{cfg.channels}",
        "batch": [cfg.train.batch, cfg.train.length],
        "horizon": cfg.behavior.horizon,
        "params": params,
        "seconds_per_update": median,
        "seconds_runs": times,
        "phase_seconds": {k: statistics.median(v) for k, v in phases.items()},
        "gflop_per_update": counter.total / 1e9,
        "gflop_by_op": {k: v / 1e9 for k, v in counter.by_op.most_common()},
        "achieved_gflops": counter.total / 1e9 / median,
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["configs"]
    labels = [
        f"{r['name']}\n{r['image']}, {r['batch'][0]}x{r['batch'][1]}\n{r['precision']}"
        + (", channels_last" if r["channels_last"] else "")
        for r in runs
    ]
    secs = [r["seconds_per_update"] for r in runs]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    bars = ax.bar(
        range(len(runs)), secs, color=["#48c" if r["precision"] == "fp32" else "#e83" for r in runs]
    )
    ax.axhline(TARGET_SECONDS, color="#2a7", ls="--", lw=1, label=f"target {TARGET_SECONDS:g} s (paper size)")
    ax.axhline(PORT_SECONDS_64PX_50x50, color="#d44", ls=":", lw=1, label="public port, 64 px 50x50 (spec)")
    for bar, v in zip(bars, secs, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, v * 1.05, f"{v:.2f}", ha="center", fontsize=8)
    ax.set_xticks(range(len(runs)), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("seconds per full update")
    ax.legend(fontsize=7)
    gf = [r["achieved_gflops"] for r in runs]
    ax2.bar(range(len(runs)), gf, color="#888")
    peaks = results["matmul_peak_gflops"]
    ax2.axhline(peaks["fp32"], color="#48c", ls="--", lw=1, label=f"fp32 matmul peak {peaks['fp32']:.0f}")
    ax2.axhline(peaks["bf16"], color="#e83", ls="--", lw=1, label=f"bf16 matmul peak {peaks['bf16']:.0f}")
    ax2.set_xticks(range(len(runs)), labels, fontsize=7)
    ax2.set_yscale("log")  # a GPU's peaks sit 100x above what these small updates reach
    ax2.set_ylabel("achieved GFLOP/s")
    ax2.legend(fontsize=7)
    load = results["load_average"]
    where = results.get("device_name") or f"{results['threads']} threads"
    fig.suptitle(
        f"V-MAIL update cost, {where}; load average {load['before']:.1f} -> "
        f"{load['after']:.1f} on {results.get('cpu_count', os.cpu_count())} cores",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed updates per configuration")
    parser.add_argument("--cpu-repeats", type=int, default=5, help="timed updates for the CPU preset")
    # Every core by default: that is "this CPU". On a loaded machine pass --threads 1: with other
    # jobs on the 2 cores (load ~8) two OpenMP threads thrashed, 6.60 s vs 0.85 s per CPU-preset
    # update in consecutive runs.
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-paper", action="store_true", help="only the CPU preset (quick check)")
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu (default) or cuda[:N]: where the updates run; a GPU writes vmail_update_cost_cuda.*",
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    load_before = os.getloadavg()[0]
    dev = args.device
    dtypes = (("fp32", torch.float32), ("bf16", torch.bfloat16))
    peaks_before = {k: matmul_peak(d, device=dev) for k, d in dtypes}
    plan = [
        ("cpu preset", "vmail_cpu", args.cpu_repeats),
        ("cpu preset", "vmail_cpu,vmail_fast", args.cpu_repeats),
    ]
    if not args.skip_paper:
        plan += [("paper", "vmail_paper", args.repeats), ("paper", "vmail_paper,vmail_fast", args.repeats)]
    configs = []
    for name, presets, repeats in plan:
        r = {"name": name, **measure_config(presets, [f"device={dev}"], repeats)}
        configs.append(r)
        print(
            f"{name:10s} {r['image']:8s} {r['batch']} {r['precision']}: "
            f"{r['seconds_per_update']:.2f} s/update, "
            f"{r['gflop_per_update']:.0f} GFLOP, {r['achieved_gflops']:.1f} GFLOP/s, phases "
            + ", ".join(f"{k} {v:.2f}" for k, v in r["phase_seconds"].items()),
            flush=True,
        )
    peaks_after = {k: matmul_peak(d, device=dev) for k, d in dtypes}
    results = {
        "device": dev,
        "device_name": torch.cuda.get_device_name(dev) if dev.startswith("cuda") else None,
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "matmul_peak_gflops": {k: max(peaks_before[k], peaks_after[k]) for k in peaks_before},
        "matmul_peak_gflops_before_after": {"before": peaks_before, "after": peaks_after},
        "target_seconds_paper_size": TARGET_SECONDS,
        "public_port_seconds_64px_50x50": PORT_SECONDS_64PX_50x50,
        "configs": configs,
    }
    print(f"matmul peaks GFLOP/s: {results['matmul_peak_gflops']}; load {results['load_average']}")
    name = "vmail_update_cost" if dev == "cpu" else "vmail_update_cost_cuda"
    path = write_json(name, results, args.out_dir)
    plot(results, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
