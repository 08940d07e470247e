"""The latent probe's regression: a linear map is recovered, a constant guess scores zero."""

from __future__ import annotations

import numpy as np

from benchmarks.vmail_latent_probe import explained, ridge_predict


def test_a_linear_state_is_read_back_from_held_out_features() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3))
    x_fit, x_test = rng.normal(size=(400, 8)), rng.normal(size=(200, 8))
    y_fit, y_test = x_fit @ w + 1.0, x_test @ w + 1.0
    r2 = explained(ridge_predict(x_fit, y_fit, x_test, alpha=1e-6), y_test, y_test.var(0))
    assert np.all(r2 > 0.999), r2


def test_features_unrelated_to_the_state_explain_nothing() -> None:
    rng = np.random.default_rng(1)
    x_fit, x_test = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    y_fit, y_test = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))
    r2 = explained(ridge_predict(x_fit, y_fit, x_test), y_test, y_test.var(0))
    assert np.all(np.abs(r2) < 0.02), r2
    # predicting the set's mean scores exactly zero against the set's variance
    mean_guess = np.broadcast_to(y_test.mean(0), y_test.shape)
    assert np.allclose(explained(mean_guess, y_test, y_test.var(0)), 0.0, atol=1e-9)
