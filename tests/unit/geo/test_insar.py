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


def _reference(a, y, w=None, intervals=None):
    """Plain per-pixel (weighted) least squares on the velocity form, minimum-norm where split (MintPy's
    ``estimate_timeseries`` with ``min_norm_velocity=True``) — the slow, obviously right answer."""
    c = np.tril(np.ones((a.shape[1], a.shape[1]))) * (np.ones(a.shape[1]) if intervals is None else intervals)[None, :]
    b = a @ c
    out = np.full((a.shape[1], y.shape[1]), np.nan)
    for k in range(y.shape[1]):
        ok = np.isfinite(y[:, k])
        if not ok.any():
            continue
        sw = np.sqrt(w[ok, k]) if w is not None else np.ones(ok.sum())
        out[:, k] = c @ np.linalg.lstsq(b[ok] * sw[:, None], y[ok, k] * sw, rcond=1e-5)[0]
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
    # float32 input is solved in float32 (as MintPy does): agreement to float32 precision, ~1e-5 rad = 0.05 µm.
    np.testing.assert_allclose(phase[:, sample], _reference(a, y[:, sample]), rtol=1e-5, atol=2e-5)


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
    # Where connected the answer is unique; where split, both are the minimum-norm velocity solution.
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


def test_disconnected_network_gives_min_norm_velocity_and_a_flag():
    dates = np.arange(6) * 12
    pairs = [(0, 1), (1, 2), (3, 4), (4, 5)]  # two islands: 0-1-2 and 3-4-5
    a = insar.design_matrix(pairs, 6)
    y = np.random.default_rng(2).normal(size=(4, 5))
    x, rms, conn = insar.solve_block(a, y, intervals=np.diff(dates))
    b = insar.velocity_design_matrix(a, np.diff(dates))
    v = np.linalg.pinv(b) @ y  # minimum-norm velocity, MintPy's default: no velocity across the gap
    np.testing.assert_allclose(v[2], 0, atol=1e-12)
    np.testing.assert_allclose(x, np.cumsum(v * 12, axis=0))
    np.testing.assert_allclose(x[2], x[1])  # no jump across the gap
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


# ------------------------------------------------------------------ issue 16: science that holds on real data


def _gap_stack(**kwargs):
    """A noise-free linear stack whose pairs across dates 11→12 are gone (a failed job, an acquisition gap)."""
    ds = sample_data.insar_stack(shape=(24, 24), seasonal_m=0, atmosphere_rad=0, unwrap_error_fraction=0, **kwargs)
    keep = ~((ds.ref.values <= 11) & (ds.sec.values >= 12))
    return ds.isel(pair=keep)


def test_a_network_with_a_gap_gives_the_minimum_norm_velocity_with_a_warning():
    ds = _gap_stack()
    pairs = _pairs(ds)
    assert len(insar.connected_components(pairs, ds.sizes["date"])) == 2
    with pytest.warns(insar.InSARWarning, match=r"split the dates into 2 parts \(dates 0–11 \(2024-01-05…2024-05-16\); dates 12–29"):
        out = insar.invert(ds.unwrapped, pairs, ds.date.values)
    iy, ix = np.unravel_index(int(ds.true_velocity.argmin()), ds.true_velocity.shape)
    truth, got = float(ds.true_velocity[iy, ix]), float(out.velocity[iy, ix])
    # Minimum-norm displacement put a jump in the series (+3.0 or −14.9 mm/yr for a −29.7 pixel); the velocity
    # form only misses the one unmeasured interval: within 5 % of the truth, same sign.
    assert abs(got - truth) < 0.05 * abs(truth), (got, truth)
    disp = out.displacement[:, iy, ix].values
    assert disp[12] == pytest.approx(disp[11])  # continuous across the gap: zero velocity where nothing was measured
    assert not bool(out.connected.any()) and out.attrs["parts"] == 2


def test_the_gap_solution_is_mintpys_default_solution():
    mintpy_inv = pytest.importorskip("mintpy.ifgram_inversion")
    ds = _gap_stack()
    pairs = _pairs(ds)
    a = insar.design_matrix(pairs, ds.sizes["date"])
    dt = np.diff(insar._days(ds.date.values)) / 365.25
    b = insar.velocity_design_matrix(a, dt)
    y = ds.unwrapped.values.reshape(len(pairs), -1)[:, :50]
    theirs = mintpy_inv.estimate_timeseries(a, b, y, tbase_diff=dt[:, None], weight_sqrt=None, print_msg=False)[0]
    ours, _, conn = insar.solve_block(a, y, intervals=dt)
    np.testing.assert_allclose(ours, theirs[1:], rtol=1e-4, atol=1e-3)
    assert not conn.any()


def test_a_weighted_solve_on_a_split_network_is_refused_unless_asked():
    ds = _gap_stack()
    pairs = _pairs(ds)
    with pytest.raises(
        insar.InSARInputError, match=r"split the dates into 2 parts .* weighted solve needs one connected network .* allow_split=True"
    ):
        insar.invert(ds.unwrapped, pairs, ds.date.values, coherence=ds.coherence)
    with pytest.warns(insar.InSARWarning, match="split"):
        out = insar.invert(ds.unwrapped, pairs, ds.date.values, coherence=ds.coherence, allow_split=True)
    assert not bool(out.connected.any()) and np.isfinite(out.velocity.values).all()


def test_pair_network_says_when_max_days_splits_it():
    dates = np.array([0, 12, 24, 36, 96, 108, 120])  # a 60-day hole in the acquisitions
    with pytest.warns(insar.InSARWarning, match=r"max_days=48 splits the network into 2 parts .*raise max_days above the longest gap"):
        insar.pair_network(dates, "sequential", 3, max_days=48)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        insar.pair_network(dates, "sequential", 3, max_days=60)


def test_no_seasonal_term_by_default_and_a_warning_with_the_noise_gain_when_short():
    # 0.76 years of weekly dates, no seasonal signal: a fitted annual term only adds noise.
    ds = sample_data.insar_stack(shape=(32, 32), n_dates=40, spacing_days=7, seasonal_m=0, atmosphere_rad=1.0, unwrap_error_fraction=0, seed=4)
    pairs, dates = _pairs(ds), ds.date.values
    default = insar.invert(ds.unwrapped, pairs, dates, min_temporal_coherence=0)
    assert default.attrs["seasonal"] == 0
    gain = insar.seasonal_noise_gain(dates)
    assert gain > 2.5
    with pytest.warns(insar.InSARWarning, match=rf"seasonal=True over 0.75 years: .* multiplies the velocity's noise by {gain:.1f}"):
        fitted = insar.invert(ds.unwrapped, pairs, dates, seasonal=True, min_temporal_coherence=0)
    rms = {k: float(np.sqrt(((r.velocity - ds.true_velocity) ** 2).mean())) for k, r in (("linear", default), ("seasonal", fitted))}
    assert rms["seasonal"] > 2 * rms["linear"], rms


def test_variance_weights_follow_mintpy():
    w = insar.coherence_weights(np.array([0.2, 0.8]), looks=10)
    assert 35 < w[1] / w[0] < 50  # raw coherence gives 4×
    decor = pytest.importorskip("mintpy.simulation.decorrelation")
    coh = np.linspace(0.01, 0.99, 50)
    for looks in (1, 5, 10, 41):
        np.testing.assert_allclose(insar.phase_variance(coh, looks), decor.coherence2phase_variance(coh.copy(), looks), rtol=1e-6)


def test_a_decorrelated_patch_is_down_weighted_and_masked():
    patch = (slice(13, 23), slice(17, 27))  # on the subsidence bowl
    ds = sample_data.insar_stack(shape=(40, 40), atmosphere_rad=0.3, seasonal_m=0, unwrap_error_fraction=0, decorrelated=patch, seed=1)
    pairs, dates = _pairs(ds), ds.date.values

    def error(**kw):
        out = insar.invert(ds.unwrapped, pairs, dates, min_temporal_coherence=0, **kw)
        return float(np.sqrt(((out.velocity - ds.true_velocity)[patch] ** 2).mean())) * 1000

    as_coherence, as_variance = error(coherence=ds.coherence, weight="coh"), error(coherence=ds.coherence)
    assert as_variance < 8 and as_variance < as_coherence / 3, (as_variance, as_coherence)
    out = insar.invert(ds.unwrapped, pairs, dates, coherence=ds.coherence)  # the default mask: temporal coherence ≥ 0.7
    masked = out.velocity.isnull()
    assert float(masked[patch].mean()) > 0.5 and not bool(masked.where(out.temporal_coherence.notnull()).isel(y=slice(0, 10)).any())
    assert float(out.temporal_coherence[patch].mean()) < 0.7 < float(out.temporal_coherence[:10].mean())
    assert bool(out.connected.all())  # masked for quality, not for the network


def test_temporal_coherence_is_mintpys():
    mintpy_inv = pytest.importorskip("mintpy.ifgram_inversion")
    ds = sample_data.insar_stack(shape=(8, 8), atmosphere_rad=1.5, seed=3)
    pairs = _pairs(ds)
    out = insar.invert(ds.unwrapped, pairs, ds.date.values, min_temporal_coherence=0)
    a = insar.design_matrix(pairs, ds.sizes["date"])
    y = ds.unwrapped.values.reshape(len(pairs), -1).astype(np.float64)
    for k in range(0, 64, 7):
        ok = np.isfinite(y[:, k])
        _, tcoh, _ = mintpy_inv.estimate_timeseries(a[ok], None, y[ok, k : k + 1], tbase_diff=None, min_norm_velocity=False, print_msg=False)
        assert float(out.temporal_coherence.values.reshape(-1)[k]) == pytest.approx(float(tcoh), abs=1e-5)


def test_outputs_carry_units_names_and_the_sign_convention():
    ds = sample_data.insar_stack(shape=(8, 8), seed=2)
    out = insar.invert(ds.unwrapped, _pairs(ds), ds.date.values)
    assert out.velocity.attrs == {"units": "m/yr", "long_name": "LOS velocity"}
    assert out.displacement.attrs["units"] == "m" and out.temporal_coherence.attrs["units"] == "1"
    assert "positive towards the satellite" in out.attrs["sign_convention"]
    vertical = insar.los_to_vertical(out.velocity, xr.full_like(out.velocity, np.deg2rad(90 - 39)))
    np.testing.assert_allclose(vertical, out.velocity / np.cos(np.deg2rad(39)), rtol=1e-6)
    assert "assumes no horizontal motion" in vertical.attrs["long_name"] and vertical.attrs["units"] == "m/yr"


def test_low_temporal_coherence_masks_values_but_not_the_network_flag():
    ds = sample_data.insar_stack(shape=(16, 16), unwrap_error_fraction=0, seed=8)
    phase = ds.unwrapped.values.copy()
    phase[:, :, :8] += np.random.default_rng(8).normal(scale=1.5, size=phase[:, :, :8].shape)  # noise of its own in each interferogram
    out = insar.invert(phase, _pairs(ds), ds.date.values)  # unweighted, every pair valid: the shared factor
    low = (out.temporal_coherence < 0.7).values
    assert low.any() and not low.all()
    assert np.isnan(out.velocity.values[low]).all() and np.isnan(out.displacement.values[:, low]).all()
    assert np.isfinite(out.velocity.values[~low]).all() and bool(out.connected.all())


def test_coherence_converted_inside_the_kernel_equals_the_weights_given_whole():
    ds = sample_data.insar_stack(shape=(16, 16), unwrap_error_fraction=0.02, seed=6)
    coh = np.random.default_rng(6).uniform(0.0, 1.0, ds.unwrapped.shape).astype(np.float32)
    coh[0, 0, 0] = np.nan
    pairs = _pairs(ds)
    fused = insar.invert(ds.unwrapped, pairs, ds.date.values, coherence=coh, looks=20, min_temporal_coherence=0)
    whole = insar.invert(ds.unwrapped, pairs, ds.date.values, weights=insar.coherence_weights(coh, looks=20), min_temporal_coherence=0)
    np.testing.assert_allclose(fused.displacement, whole.displacement, rtol=1e-5, atol=1e-9)
    assert fused.attrs["weight"] == "var"
