"""How many updates does a decoder need to draw point_mass's point where the state says it is?

V-MAIL's world model learns its latent through the image likelihood, so a latent can only be
rewarded for holding something the decoder can already draw. This trains decoders to render
point_mass-easy frames from the *true* position (the best latent there could be) and measures,
every ``--every`` updates on held-out frames:

- the squared error on the point's pixels (those that differ by more than 0.1 from the mean
  frame), next to what the mean frame itself gives: a decoder that has not learnt to draw the
  point sits on that line;
- how often the pixel it changes most from the mean frame lies on the point.

Decoders: ``conv:DEPTH`` is the world model's ConvDecoder; ``broadcast:CHANNELS`` is a spatial
broadcast decoder (Watters et al., 2019: the state tiled over the image with coordinate
channels, then per-pixel layers), a candidate for drawing small objects. Frames come from
random positions set directly in the simulator, rendered as the environment renders them.

Run: ``asymlearn benchmark vmail_decoder_drawing [--size 64] [--steps 10000] [--device cuda]``.
Writes docs/benchmarks/vmail_decoder_drawing[_<tag>].json and .png.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch
from torch import nn

from benchmarks.common import RESULTS_DIR, write_json
from training.vmail.networks import DECODERS, build_image_decoder, preprocess

FOREGROUND = 0.1  # a pixel is the point's if it differs this much (in [-0.5, 0.5] units) from the mean frame
ARENA = 0.29  # point_mass joint range, metres


def render_random_positions(count: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, 2) positions drawn uniformly over the arena and their (count, H, W, 3) frames."""
    import sim_bridges

    rng = np.random.default_rng(seed)
    positions = rng.uniform(-ARENA, ARENA, size=(count, 2))
    env = sim_bridges.make("point_mass_easy", image_size=size)
    try:
        env.reset(seed=seed)
        physics = env.physics
        frames = np.empty((count, size, size, 3), np.uint8)
        for i, (x, y) in enumerate(positions):
            with physics.reset_context():
                physics.named.data.qpos["root_x"] = x
                physics.named.data.qpos["root_y"] = y
            frames[i] = env.frame()
    finally:
        env.close()
    return positions.astype(np.float32), frames


def build_decoder(spec: str, size: int) -> nn.Module:
    """``conv:DEPTH`` or ``broadcast:WIDTH`` -> a decoder from a 2-d position."""
    kind, _, number = spec.partition(":")
    if kind not in DECODERS or not number.isdigit() or int(number) < 1:
        raise ValueError(f"decoder {spec!r}: expected conv:DEPTH or broadcast:WIDTH, e.g. conv:32")
    return build_image_decoder(kind, 2, size, 3, int(number))  # the world model's own decoders


def drawing_scores(pred: torch.Tensor, target: torch.Tensor, mean_frame: torch.Tensor) -> dict[str, float]:
    """Point-pixel error of ``pred`` and of the mean frame, and the share of frames whose largest
    change from the mean frame lands on the point. Images are (N, C, H, W) in [-0.5, 0.5]."""
    point = (target - mean_frame).abs().amax(1) > FOREGROUND  # (N, H, W)
    n_point = point.sum().clamp(min=1)
    err = ((pred - target) ** 2).sum(1)
    base = ((mean_frame - target) ** 2).sum(1)
    strongest = (pred - mean_frame).abs().amax(1).flatten(1).argmax(1)
    on_point = point.flatten(1).gather(1, strongest[:, None]).float().mean()
    return {
        "point_error": float((err * point).sum() / n_point),
        "mean_frame_point_error": float((base * point).sum() / n_point),
        "strongest_change_on_point": float(on_point),
        "background_error_per_frame": float((err * ~point).sum() / len(pred)),
    }


def train_decoder(
    spec: str,
    positions: np.ndarray,
    frames: np.ndarray,
    *,
    steps: int,
    every: int,
    batch: int,
    lr: float,
    device: str,
    seed: int,
    held_out: float = 0.1,
) -> dict[str, Any]:
    """Fits ``spec`` to (normalised position -> frame) and returns its learning curve."""
    torch.manual_seed(seed)
    n_test = max(1, int(held_out * len(positions)))
    x = torch.as_tensor(positions / ARENA, device=device)
    y = preprocess(torch.as_tensor(frames, device=device))
    x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    mean_frame = y_train.mean(0)
    decoder = build_decoder(spec, frames.shape[1]).to(device)
    optimiser = torch.optim.Adam(decoder.parameters(), lr)
    curve: list[dict[str, float]] = []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        idx = torch.randint(len(x_train), (batch,), device=device)
        loss = ((decoder(x_train[idx]) - y_train[idx]) ** 2).sum((1, 2, 3)).mean() / 2
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step % every == 0 or step == steps:
            with torch.no_grad():
                scores = drawing_scores(decoder(x_test), y_test, mean_frame)
            curve.append(
                {"step": step, "loss": loss.item(), "seconds": time.perf_counter() - start, **scores}
            )
            print(
                f"{spec:>14} step {step:6d}: point error {scores['point_error']:.3f} "
                f"(mean frame {scores['mean_frame_point_error']:.3f}), strongest change on the point "
                f"{scores['strongest_change_on_point']:.0%}",
                flush=True,
            )
    params = sum(p.numel() for p in decoder.parameters())
    return {"decoder": spec, "parameters": params, "curve": curve}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="image size (32, 48, 64)")
    parser.add_argument(
        "--decoders", nargs="+", default=["conv:32", "broadcast:64"], help="conv:DEPTH | broadcast:WIDTH"
    )
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--frames", type=int, default=20000, help="rendered positions (10% held out)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="", help="suffix of the output names")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    for spec in args.decoders:
        try:
            build_decoder(spec, args.size)  # a bad spec or size fails before any rendering
        except ValueError as exc:
            parser.error(str(exc))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA GPU visible to PyTorch on this machine")
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    positions, frames = render_random_positions(args.frames, args.size, args.seed)
    print(f"rendered {len(frames)} frames at {args.size} px in {time.perf_counter() - start:.0f} s")
    name = "vmail_decoder_drawing" + (f"_{args.tag}" if args.tag else "")
    out = Path(args.out)
    runs: list[dict[str, Any]] = []
    results = {
        "task": "point_mass_easy",
        "image_size": args.size,
        "frames": args.frames,
        "batch": args.batch,
        "lr": args.lr,
        "device": args.device,
        "seed": args.seed,
        "foreground_threshold": FOREGROUND,
        "decoders": runs,
    }
    for spec in args.decoders:
        runs.append(
            train_decoder(
                spec,
                positions,
                frames,
                steps=args.steps,
                every=args.every,
                batch=args.batch,
                lr=args.lr,
                device=args.device,
                seed=args.seed,
            )
        )
        path = write_json(name, results, out)  # after every decoder, so a long run keeps what it has
    print(f"wrote {path}")
    plot(results, out / f"{name}.png")
    return 0


def plot(results: dict[str, Any], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_err, ax_hit) = plt.subplots(1, 2, figsize=(10, 3.8))
    for run in results["decoders"]:
        steps = [c["step"] for c in run["curve"]]
        ax_err.plot(steps, [c["point_error"] for c in run["curve"]], marker=".", label=run["decoder"])
        ax_hit.plot(
            steps, [c["strongest_change_on_point"] for c in run["curve"]], marker=".", label=run["decoder"]
        )
    base = results["decoders"][0]["curve"][-1]["mean_frame_point_error"]
    ax_err.axhline(base, color="grey", linestyle="--", label="mean frame (no point drawn)")
    ax_err.set_ylim(bottom=0)
    ax_err.set_xlabel("updates")
    ax_err.set_ylabel("squared error on the point's pixels")
    ax_hit.set_xlabel("updates")
    ax_hit.set_ylabel("largest change lands on the point")
    ax_hit.set_ylim(0, 1)
    ax_err.legend(fontsize=8)
    fig.suptitle(
        f"decoding point_mass frames from the true position, {results['image_size']} px, "
        f"batch {results['batch']}, {results['device']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
