"""Synthetic data with known truth, made by our own code, for tests and offline notebooks."""

from __future__ import annotations

from typing import Any

import numpy as np

from pangeoctl.geo.insar import SENTINEL1_WAVELENGTH, pair_network


def _correlated_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Unit-variance noise with a Gaussian spatial correlation of ``scale_px`` pixels (FFT filtering)."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    kernel = np.exp(-2 * (np.pi * scale_px) ** 2 * (fx**2 + fy**2))
    field = np.fft.irfft2(np.fft.rfft2(white) * kernel, s=shape)
    return field / field.std()


def insar_stack(
    shape: tuple[int, int] = (64, 64),
    n_dates: int = 30,
    spacing_days: int = 12,
    start: str = "2024-01-05",
    method: str = "sequential",
    num_connections: int = 3,
    subsidence_m_per_yr: float = 0.03,
    seasonal_m: float = 0.005,
    atmosphere_rad: float = 0.5,
    unwrap_error_fraction: float = 0.002,
    seed: int = 0,
    wavelength: float = SENTINEL1_WAVELENGTH,
) -> Any:
    """A Sentinel-1-like stack of unwrapped interferograms with the truth that made it.

    A Gaussian subsidence bowl (peak ``subsidence_m_per_yr`` away from the satellite) plus an annual
    seasonal term, spatially correlated atmospheric phase per date, and a fraction of pixels in some
    interferograms set to NaN as unwrapping errors. Dates are ``spacing_days`` apart.

    Returns an ``xarray.Dataset``: ``unwrapped`` (pair, y, x) radians, ``true_velocity`` (y, x) m/yr,
    ``true_displacement`` (date, y, x) m relative to the first date; ``pairs`` as (reference,
    secondary) coordinates ``ref``/``sec`` on the pair dimension.
    """
    import xarray as xr

    rng = np.random.default_rng(seed)
    ny, nx = shape
    dates = np.datetime64(start) + np.arange(n_dates) * np.timedelta64(spacing_days, "D")
    years = np.arange(n_dates) * spacing_days / 365.25
    yy, xx = np.mgrid[0:ny, 0:nx]
    bowl = np.exp(-(((yy - ny * 0.45) / (ny * 0.18)) ** 2 + ((xx - nx * 0.55) / (nx * 0.18)) ** 2))
    velocity = -subsidence_m_per_yr * bowl  # negative: away from the satellite
    seasonal = seasonal_m * (0.5 + 0.5 * (xx / max(nx - 1, 1)))
    disp = velocity[None] * years[:, None, None] + seasonal[None] * np.sin(2 * np.pi * years)[:, None, None]
    disp -= disp[0]
    phase = disp * (-4 * np.pi / wavelength)
    atmos = np.stack([atmosphere_rad * _correlated_noise(rng, shape, scale_px=max(ny, nx) / 8) for _ in range(n_dates)])
    pairs = pair_network(dates, method=method, num_connections=num_connections)  # type: ignore[arg-type]
    ref = np.array([i for i, _ in pairs])
    sec = np.array([j for _, j in pairs])
    ifg = (phase[sec] - phase[ref]) + (atmos[sec] - atmos[ref])
    bad = rng.random(ifg.shape) < unwrap_error_fraction
    ifg[bad] = np.nan
    return xr.Dataset(
        {
            "unwrapped": (("pair", "y", "x"), ifg.astype(np.float32)),
            "true_velocity": (("y", "x"), velocity),
            "true_displacement": (("date", "y", "x"), disp),
        },
        coords={"date": dates, "ref": ("pair", ref), "sec": ("pair", sec), "y": np.arange(ny), "x": np.arange(nx)},
        attrs={"wavelength": wavelength, "atmosphere_rad": atmosphere_rad},
    )
