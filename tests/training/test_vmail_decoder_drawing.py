"""The decoder-drawing benchmark: its frames show the point where the state puts it, and its
scores tell a decoder that draws the point from one that does not."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmarks.vmail_decoder_drawing import (
    build_decoder,
    drawing_scores,
    main,
    render_random_positions,
)
from training.vmail.networks import SpatialBroadcastDecoder, preprocess


def test_the_rendered_point_moves_with_the_position_set_in_the_simulator() -> None:
    positions, frames = render_random_positions(40, 32, seed=3)
    assert frames.shape == (40, 32, 32, 3) and frames.dtype == np.uint8
    images = preprocess(torch.as_tensor(frames))
    change = (images - images.mean(0)).abs().amax(1).flatten(1).argmax(1).numpy()
    rows, cols = np.divmod(change, 32)
    # the brightest change from the mean frame follows the set position along both axes
    corr = [abs(np.corrcoef(positions[:, i], pixel)[0, 1]) for i, pixel in ((0, cols), (1, rows))]
    assert min(corr) > 0.9, corr


def test_scores_separate_a_decoder_that_draws_the_point_from_one_that_does_not() -> None:
    _, frames = render_random_positions(30, 32, seed=1)
    target = preprocess(torch.as_tensor(frames))
    mean_frame = target.mean(0)
    perfect = drawing_scores(target, target, mean_frame)
    blank = drawing_scores(mean_frame.expand_as(target), target, mean_frame)
    assert perfect["point_error"] == 0.0 and perfect["strongest_change_on_point"] > 0.9
    assert blank["point_error"] == pytest.approx(blank["mean_frame_point_error"])
    assert blank["point_error"] > 0.05


def test_decoders_produce_frames_of_the_requested_size() -> None:
    feat = torch.zeros(5, 7, 2)
    assert SpatialBroadcastDecoder(2, 32, width=8)(feat).shape == (5, 7, 3, 32, 32)
    assert build_decoder("conv:4", 32)(feat).shape == (5, 7, 3, 32, 32)
    with pytest.raises(ValueError, match="conv:DEPTH or broadcast:WIDTH"):
        build_decoder("deconv:4", 32)


def test_a_short_run_writes_a_curve_per_decoder(tmp_path) -> None:
    argv = ["--size", "32", "--frames", "60", "--steps", "6", "--every", "3", "--batch", "8"]
    assert main([*argv, "--decoders", "conv:4", "broadcast:8", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "vmail_decoder_drawing.json").read_text())
    assert [run["decoder"] for run in results["decoders"]] == ["conv:4", "broadcast:8"]
    assert all([c["step"] for c in run["curve"]] == [3, 6] for run in results["decoders"])
    assert (tmp_path / "vmail_decoder_drawing.png").stat().st_size > 0


def test_a_bad_decoder_spec_is_a_usage_error_before_any_rendering(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--decoders", "conv:x"])
    assert "conv:x" in capsys.readouterr().err
