"""Segmentation of latent maps and two "physics" scores of how smooth a map is.

Follows the physics-driven VAE paper (Biswas et al., ``003`` in ``shared/papers``) and the
shift-VAE paper (``004``):

* :func:`segment_map`: a map whose range is below ``1e-3`` is one domain; otherwise it is
  scaled to [0, 1], denoised with an edge-preserving bilateral filter (``sigma_color`` = the
  paper's "denoising factor", 0.1) and split by Otsu, multi-Otsu or Chan-Vese (started from
  the Otsu split).
* :func:`edge_length`: the paper's SL1 = the sum of the Scharr edge magnitude of the scaled,
  denoised map, divided by the response of a unit step so that a sharp boundary between two
  domains spanning the full range, ``L`` pixels long, scores about ``L``.
* :func:`fourier_peak_ratio`: the shift-VAE paper's smoothness measure = the share of the
  map's Fourier intensity in the central (low-frequency) peak; higher is smoother.

Maps may hold NaN (pixels without data): they are filled with the nearest valid value for
filtering, get label 0 in segmentations and are left out of the scores.
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.errors import InputError

SEGMENT_METHODS = ("otsu", "multiotsu", "chan_vese")
FLAT_RANGE = 1e-3  # the paper's "negligible difference between max and min" threshold


def segment_map(
    latent_map,
    *,
    method: str = "otsu",
    n_classes: int = 2,
    denoise: bool = True,
    sigma_color: float = 0.1,
    sigma_spatial: float = 1.0,
) -> np.ndarray:
    """Split a latent map into domains.

    Parameters
    ----------
    latent_map : (Y, X) or (F, Y, X) array
        One latent map (a stack is segmented frame by frame). NaN = no data.
    method : {"otsu", "multiotsu", "chan_vese"}
        Threshold(s) on the value histogram, or Chan-Vese active contours started from Otsu.
    n_classes : int
        Number of domains for ``"multiotsu"`` (2 for the other methods).
    denoise : bool
        Bilateral denoising before splitting.
    sigma_color, sigma_spatial : float
        Bilateral filter parameters (value scale on the [0, 1]-scaled map; pixels).

    Returns
    -------
    int32 labels of the same shape: 1..n_classes ordered by increasing map value, 0 for NaN.
    """
    if method not in SEGMENT_METHODS:
        raise InputError(f"method must be one of {SEGMENT_METHODS}, got {method!r}.")
    if method != "multiotsu" and n_classes != 2:
        raise InputError(
            f'method {method!r} splits into 2 domains; use method="multiotsu" for {n_classes}.'
        )
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise InputError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    values = _as_map(latent_map, allow_stack=True)
    if values.ndim == 3:
        options: dict = dict(
            method=method,
            n_classes=n_classes,
            denoise=denoise,
            sigma_color=sigma_color,
            sigma_spatial=sigma_spatial,
        )
        return np.stack([segment_map(frame, **options) for frame in values])
    valid = np.isfinite(values)
    labels = np.zeros(values.shape, dtype=np.int32)
    if np.ptp(values[valid]) < FLAT_RANGE:
        labels[valid] = 1
        return labels
    scaled = _prepare(values, valid, denoise, sigma_color, sigma_spatial)
    samples = scaled[valid]
    if method == "multiotsu":
        from skimage.filters import threshold_multiotsu

        try:
            thresholds = threshold_multiotsu(samples, classes=int(n_classes))
        except ValueError as err:
            raise InputError(
                f"The map has too few distinct values for {n_classes} classes: {err}"
            ) from err
        labels[valid] = 1 + np.digitize(samples, thresholds)
        return labels
    from skimage.filters import threshold_otsu

    foreground = scaled > threshold_otsu(samples)
    if method == "chan_vese":
        from skimage.segmentation import chan_vese

        foreground = chan_vese(scaled, mu=0.25, init_level_set=np.where(foreground, 1.0, -1.0))
        high, low = scaled[valid & foreground], scaled[valid & ~foreground]
        if high.size and low.size and high.mean() < low.mean():
            foreground = ~foreground  # label 2 is always the higher-valued domain
    labels[valid] = 1 + foreground[valid]
    return labels


def edge_length(
    latent_map,
    *,
    denoise: bool = True,
    sigma_color: float = 0.1,
    sigma_spatial: float = 1.0,
) -> float:
    """Total domain-boundary length of a map (the physics-driven VAE's SL1 score), in pixels.

    The map is scaled to [0, 1] over its valid pixels, bilateral-denoised, and its Scharr edge
    magnitude summed over the valid pixels, then divided by the summed response of one row
    across a unit step (so a full-contrast sharp boundary ``L`` px long gives about ``L``;
    lower-contrast boundaries count proportionally less). Maps whose range is below ``1e-3``
    score 0.
    """
    from skimage.filters import scharr

    values = _as_map(latent_map)
    valid = np.isfinite(values)
    if np.ptp(values[valid]) < FLAT_RANGE:
        return 0.0
    scaled = _prepare(values, valid, denoise, sigma_color, sigma_spatial)
    magnitude = scharr(scaled)
    return float(magnitude[valid].sum() / _unit_step_response())


def fourier_peak_ratio(
    latent_map, *, central_fraction: float = 0.1, spectrum: str = "power"
) -> float:
    """Share of a map's Fourier intensity in the central peak (smoothness; higher = smoother).

    Parameters
    ----------
    latent_map : (Y, X) array
        One latent map; NaN borders are cropped and remaining NaN set to the mean. For several
        latent maps, the shift-VAE paper scores each and takes the greater.
    central_fraction : float
        Half-width of the central square window as a fraction of the Nyquist frequency along
        each axis (at least one frequency bin): 0.1 keeps wavelengths longer than about 20 px.
    spectrum : {"power", "log"}
        ``"power"``: ``|FFT|^2`` of the mean-removed map (the share of the variance at low
        spatial frequencies, independent of offset and scale; a constant map scores 1).
        ``"log"``: ``log(|FFT| + 1)`` of the map as is, following the physics-driven VAE paper's
        SL2 (the ratio returned is ``1 - SL2``).

    Returns
    -------
    float in [0, 1].
    """
    if spectrum not in ("power", "log"):
        raise InputError(f'spectrum must be "power" or "log", got {spectrum!r}.')
    if not 0 < central_fraction <= 1:
        raise InputError(f"central_fraction must be in (0, 1], got {central_fraction!r}.")
    values = _as_map(latent_map)
    values = _crop_to_valid(values)
    valid = np.isfinite(values)
    values = np.where(valid, values, values[valid].mean())
    if spectrum == "power":
        values = values - values.mean()
        if not np.any(np.abs(values) > 0):
            return 1.0
        intensity = np.abs(np.fft.fftshift(np.fft.fft2(values))) ** 2
    else:
        intensity = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(values))))
    total = intensity.sum()
    if total <= 0:
        return 1.0
    cy, cx = values.shape[0] // 2, values.shape[1] // 2
    hy = max(1, int(round(central_fraction * values.shape[0] / 2)))
    hx = max(1, int(round(central_fraction * values.shape[1] / 2)))
    central = intensity[max(cy - hy, 0) : cy + hy + 1, max(cx - hx, 0) : cx + hx + 1].sum()
    return float(min(1.0, central / total))


def _as_map(latent_map, allow_stack: bool = False) -> np.ndarray:
    try:
        values = np.asarray(latent_map, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"The latent map must be a numeric array: {err}") from err
    allowed = (2, 3) if allow_stack else (2,)
    if values.ndim not in allowed:
        hint = " (or a (F, Y, X) stack)" if allow_stack else "; score each channel/frame separately"
        raise InputError(f"Expected a (Y, X) map{hint}, got shape {values.shape}.")
    if min(values.shape[-2:]) < 2:
        raise InputError(f"The map of shape {values.shape} is too small.")
    if np.isinf(values).any():
        raise InputError("The map contains infinite values.")
    if values.ndim == 2 and not np.isfinite(values).any():
        raise InputError("The map has no valid (non-NaN) pixels.")
    return values


def _prepare(values, valid, denoise, sigma_color, sigma_spatial) -> np.ndarray:
    """Scale to [0, 1] over valid pixels, fill NaN with the nearest valid value, denoise."""
    from scipy import ndimage

    lo, hi = values[valid].min(), values[valid].max()
    scaled = (values - lo) / (hi - lo)
    if not valid.all():
        nearest = ndimage.distance_transform_edt(
            ~valid, return_distances=False, return_indices=True
        )
        scaled = scaled[tuple(nearest)]
    if denoise:
        from skimage.restoration import denoise_bilateral

        scaled = denoise_bilateral(scaled, sigma_color=sigma_color, sigma_spatial=sigma_spatial)
    return scaled


def _crop_to_valid(values: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(np.isfinite(values).any(axis=1))
    cols = np.flatnonzero(np.isfinite(values).any(axis=0))
    return values[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


_STEP_RESPONSE: list[float] = []


def _unit_step_response() -> float:
    """Scharr magnitude summed across one row of a unit step (sqrt(2) in scikit-image)."""
    if not _STEP_RESPONSE:
        from skimage.filters import scharr

        step = np.zeros((9, 16))
        step[:, 8:] = 1.0
        _STEP_RESPONSE.append(float(scharr(step)[4].sum()))
    return _STEP_RESPONSE[0]
