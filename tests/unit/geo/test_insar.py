"""SBAS: pair networks, the vectorised inversion against per-pixel lstsq references, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from pangeoctl.geo import insar, sample_data

xr = pytest.importorskip("xarray")


def _pairs(ds):
    return list(zip(ds.ref.values.tolist(), ds.sec.values.tolist(), strict=True))


@pytest.mark.parametrize("n", range(3, 51))
def test_pair_counts_match_the_formulas(n):
    dates = np.arange(n) * 12
    assert len(insar.pair_network(dates, "all")) == n * (n - 1) // 2
    assert len(insar.pair_network(dates, "sequential", num_connections=2)) == 2 * n - 3
    if n >= 3:
        assert len(insar.pair_network(dates, "sequential", num_connections=3)) == 3 * n - 6
    for method in ("all", "sequential"):
        pairs = insar.pair_network(dates, method)  # type: ignore[arg-type]
        assert pairs == sorted(set(pairs)) and all(i < j for i, j in pairs)


def test_max_baseline_keeps_only_short_pairs():
    dates = np.arange(10) * 12
    pairs = insar.pair_network(dates, "max-baseline", max_days=36)
    assert pairs == insar.pair_network(dates, "sequential", num_connections=3)


def test_connected_components():
    assert insar.connected_components([(0, 1), (1, 2), (3, 4)], 5) == [[0, 1, 2], [3, 4]]
    assert insar.connected_components(insar.pair_network(np.arange(6), "sequential", 1), 6) == [list(range(6))]


def _reference(a, y, w=None):
    """Plain per-pixel (weighted) least squares — the slow, obviously right answer."""
    out = np.full((a.shape[1], y.shape[1]), np.nan)
    for k in range(y.shape[1]):
        ok = np.isfinite(y[:, k])
        if not ok.any():
            continue
        sw = np.sqrt(w[ok, k]) if w is not None else np.ones(ok.sum())
        out[:, k] = np.linalg.lstsq(a[ok] * sw[:, None], y[ok, k] * sw, rcond=None)[0]
    return out


def test_recovers_the_truth_without_noise():
    ds = sample_data.insar_stack(shape=(24, 24), seasonal_m=0, atmosphere_rad=0, unwrap_error_fraction=0)
    out = insar.invert(ds.unwrapped.astype("float64"), _pairs(ds), ds.date.values)
    np.testing.assert_allclose(out.velocity, ds.true_velocity, atol=1e-6)
    np.testing.assert_allclose(out.displacement, ds.true_displacement, atol=1e-6)
    assert bool(out.connected.all())


def test_velocity_within_the_noise_and_equal_to_lstsq():
    ds = sample_data.insar_stack(shape=(40, 40), seasonal_m=0, atmosphere_rad=0.5, unwrap_error_fraction=0.01, seed=3)
    pairs = _pairs(ds)
    out = insar.invert(ds.unwrapped, pairs, ds.date.values, seasonal=False)  # the truth has no seasonal term
    err = (out.velocity - ds.true_velocity).values
    # 0.5 rad of atmosphere per date is ~2.2 mm; over ~1 year of 30 dates the velocity error stays below ~2.5 mm/yr.
    assert np.sqrt(np.nanmean(err**2)) < 0.0025
    a = insar.design_matrix(pairs, ds.sizes["date"])
    y = ds.unwrapped.values.reshape(len(pairs), -1).astype(float)
    assert np.isnan(y).any()  # the NaN path is exercised
    phase = out.displacement.values[1:].reshape(ds.sizes["date"] - 1, -1) / (-insar.SENTINEL1_WAVELENGTH / (4 * np.pi))
    sample = np.random.default_rng(0).choice(y.shape[1], 200, replace=False)
    np.testing.assert_allclose(phase[:, sample], _reference(a, y[:, sample]), rtol=1e-7, atol=1e-7)


def test_weighted_solve_matches_weighted_lstsq():
    ds = sample_data.insar_stack(shape=(16, 16), unwrap_error_fraction=0.02, seed=5)
    pairs = _pairs(ds)
    rng = np.random.default_rng(1)
    w = rng.uniform(0.2, 1.0, ds.unwrapped.shape)
    a = insar.design_matrix(pairs, ds.sizes["date"])
    y = ds.unwrapped.values.reshape(len(pairs), -1).astype(float)
    x, _, conn = insar.solve_block(a, y, w.reshape(len(pairs), -1))
    np.testing.assert_allclose(x, _reference(a, y, w.reshape(len(pairs), -1)), rtol=1e-7, atol=1e-7)
    assert conn.all()


@pytest.mark.parametrize(
    "network",
    [("sequential", 1), ("sequential", 2), ("sequential", 3), ("all", 0), ("max-baseline", 40)],
    ids=lambda n: f"{n[0]}-{n[1]}",
)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("threads", [1, 2])
def test_every_network_and_path_equals_per_pixel_lstsq(network, weighted, threads):
    """Bandwidths 1…n−1, shared and per-pixel factors, NaN and zero weights, several blocks and threads."""
    method, k = network
    dates = np.arange(12) * 12
    pairs = insar.pair_network(dates, method, num_connections=k or 3, max_days=k if method == "max-baseline" else None)
    a = insar.design_matrix(pairs, len(dates))
    rng = np.random.default_rng(len(pairs))
    y = rng.normal(size=(len(pairs), 700)) * 5
    y[rng.random(y.shape) < 0.02] = np.nan
    y[:, 5] = np.nan  # a pixel with nothing
    w = None
    if weighted:
        w = rng.uniform(0.1, 1.0, y.shape)
        w[rng.random(y.shape) < 0.02] = 0.0
    x, rms, conn = insar.solve_block(a, y, w, threads=threads)
    yy = y if w is None else np.where(w > 0, y, np.nan)
    ref = _reference(a, yy, w)
    for col in range(y.shape[1]):
        ok = np.isfinite(yy[:, col])
        expect = ok.any() and len(insar.connected_components([p for p, v in zip(pairs, ok, strict=True) if v], len(dates))) == 1
        assert conn[col] == expect, col
    # Where connected the answer is unique; where split, both are the minimum-norm solution.
    np.testing.assert_allclose(x, ref, rtol=1e-8, atol=1e-8)
    resid = np.where(np.isfinite(yy), a @ np.nan_to_num(x) - yy, 0.0)
    with np.errstate(invalid="ignore"):
        expected_rms = np.sqrt((resid**2).sum(axis=0) / np.isfinite(yy).sum(axis=0))
    # The shared path takes the residual as ‖y‖² − ‖L⁻¹Aᵀy‖²: exact to ~1e-7 rad where the fit is perfect.
    np.testing.assert_allclose(rms, expected_rms, rtol=1e-7, atol=1e-6)
    assert np.isnan(x[:, 5]).all() and np.isnan(rms[5]) and not conn[5]


def test_float32_stays_float32_and_agrees_with_float64():
    pairs = insar.pair_network(np.arange(20) * 12, "sequential", 3)
    a = insar.design_matrix(pairs, 20)
    y = np.random.default_rng(4).normal(size=(len(pairs), 1000)) * 20
    x64, rms64, _ = insar.solve_block(a, y)
    x32, rms32, _ = insar.solve_block(a, y.astype(np.float32))
    assert x32.dtype == rms32.dtype == np.float32
    np.testing.assert_allclose(x32, x64, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(rms32, rms64, rtol=1e-4)


def test_a_matrix_that_is_not_the_displacement_form_is_refused():
    a = insar.design_matrix([(0, 1), (1, 2)], 3)
    a[0, 0] = 0.5
    with pytest.raises(insar.InSARInputError, match="displacement form"):
        insar.solve_block(a, np.zeros((2, 4)))


def test_disconnected_network_gives_min_norm_and_a_flag():
    dates = np.arange(6) * 12
    pairs = [(0, 1), (1, 2), (3, 4), (4, 5)]  # two islands: 0-1-2 and 3-4-5
    a = insar.design_matrix(pairs, 6)
    y = np.random.default_rng(2).normal(size=(4, 5))
    x, rms, conn = insar.solve_block(a, y)
    np.testing.assert_allclose(x, np.linalg.pinv(a) @ y)  # minimum-norm, like the established tools
    assert not conn.any() and np.allclose(rms, 0)
    # Disconnected by NaN at one pixel only: that pixel is flagged, the others are not.
    pairs = insar.pair_network(dates, "sequential", 1)
    a = insar.design_matrix(pairs, 6)
    y = np.ones((len(pairs), 3))
    y[2, 1] = np.nan
    x, _, conn = insar.solve_block(a, y)
    assert conn.tolist() == [True, False, True]
    np.testing.assert_allclose(x[:, 1], _reference(a, y[:, 1:2])[:, 0], atol=1e-9)


def test_dask_chunks_equal_numpy():
    ds = sample_data.insar_stack(shape=(32, 32), seed=7)
    pairs = _pairs(ds)
    eager = insar.invert(ds.unwrapped, pairs, ds.date.values)
    lazy = insar.invert(ds.unwrapped.chunk({"y": 16, "x": 16}), pairs, ds.date.values, mask=xr.ones_like(ds.true_velocity, dtype=bool))
    assert hasattr(lazy.velocity.data, "dask")
    np.testing.assert_allclose(lazy.velocity.compute(), eager.velocity, rtol=1e-5, atol=1e-8, equal_nan=True)  # float32 input: 0.01 mm/yr


def test_all_nan_pixel_is_flagged_not_invented():
    ds = sample_data.insar_stack(shape=(8, 8), unwrap_error_fraction=0)
    stack = ds.unwrapped.values.copy()
    stack[:, 2, 3] = np.nan
    out = insar.invert(stack, _pairs(ds), ds.date.values)
    assert np.isnan(out.velocity.values[2, 3]) and not bool(out.connected.values[2, 3])
    assert np.isfinite(out.velocity.values[2, 2])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dates": np.arange(3) * 12}, "at least 4 dates, got 3"),
        ({"pairs": [(0, 1), (1, 9)]}, "pair 1 = (1, 9) references a date outside 0…4"),
        ({"unwrapped": np.zeros((3, 4, 4))}, "3 interferograms but 2 pairs"),
        ({"weights": np.ones((2, 5, 5))}, "weights shape (2, 5, 5) differs from unwrapped (2, 4, 4)"),
        ({"mask": np.ones((3, 3), bool)}, "mask shape (3, 3) differs from the image (4, 4)"),
        ({"dates": np.array([0, 12, 12, 24, 36])}, "dates must be strictly increasing"),
    ],
)
def test_bad_input_is_refused_clearly(kwargs, message):
    args = {"unwrapped": np.zeros((2, 4, 4)), "pairs": [(0, 1), (1, 2)], "dates": np.arange(5) * 12} | kwargs
    with pytest.raises(insar.InSARInputError) as info:
        insar.invert(args.pop("unwrapped"), args.pop("pairs"), args.pop("dates"), **args)
    assert message in str(info.value)


def test_mintpy_cross_check_when_installed():
    mintpy_inv = pytest.importorskip("mintpy.ifgram_inversion")
    ds = sample_data.insar_stack(shape=(8, 8), unwrap_error_fraction=0)
    pairs = _pairs(ds)
    a = insar.design_matrix(pairs, ds.sizes["date"])
    y = ds.unwrapped.values.reshape(len(pairs), -1).astype(np.float32)
    ours, _, _ = insar.solve_block(a, y)
    theirs = mintpy_inv.estimate_timeseries(a, None, y, tbase_diff=None, weight_sqrt=None, min_norm_velocity=False)[0]
    np.testing.assert_allclose(theirs[1:], ours, rtol=1e-4, atol=1e-4)
