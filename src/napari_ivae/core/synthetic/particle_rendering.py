"""Rendering of synthetic particle images: projected spheres on a textured, noisy support.

A particle of radius ``r`` projects a thickness ``sqrt(r^2 - d^2)`` at distance ``d`` from its
centre, softened by a probe blur; the support can hold an uneven illumination and an amorphous
texture; Poisson or Gaussian noise and a burned-in scale bar come last. Shared by
:func:`~napari_ivae.core.synthetic.particles.make_particles` and
:func:`~napari_ivae.core.synthetic.particles.make_monolayer`, which place the particles.
"""

from __future__ import annotations

import numpy as np


def render_particles(
    height,
    width,
    centres,
    radii,
    radius,
    rng,
    *,
    polarity,
    contrast,
    illumination,
    texture,
    noise,
    dose,
    scale_bar,
    blur=0.7,
):
    """Projected spheres at ``centres`` on the support (blurred by ``blur`` px, the probe), with
    its texture and noise.

    Parameters
    ----------
    height, width : int
        Image size.
    centres : numpy.ndarray
        ``(N, 2)`` ``(row, col)`` particle centres (may lie outside the frame).
    radii : numpy.ndarray
        ``(N,)`` radii in pixels.
    radius : float
        The median radius: a particle of this radius has ``contrast`` at its centre.
    rng : numpy.random.Generator
        Source of the texture and the noise.
    polarity, contrast, illumination, texture, noise, dose, scale_bar
        As in :func:`~napari_ivae.core.synthetic.particles.make_particles`.
    blur : float
        Gaussian blur (pixels) of the projected thickness.

    Returns
    -------
    image : numpy.ndarray
        ``(height, width)`` float64 image.
    bar : numpy.ndarray or None
        Boolean mask of the burned-in scale bar (None without one).
    """
    from scipy import ndimage

    rows, cols = np.mgrid[:height, :width].astype(np.float64)
    thickness = np.zeros((height, width))
    for (r0, c0), rad in zip(centres, radii):
        reach = int(np.ceil(rad)) + 2
        window = (
            slice(max(int(r0) - reach, 0), min(int(r0) + reach + 1, height)),
            slice(max(int(c0) - reach, 0), min(int(c0) + reach + 1, width)),
        )
        d2 = (rows[window] - r0) ** 2 + (cols[window] - c0) ** 2
        thickness[window] += np.sqrt(np.clip(rad**2 - d2, 0.0, None))
    if blur > 0:
        thickness = ndimage.gaussian_filter(thickness, blur)
    thickness = thickness / float(radius)
    support = np.ones((height, width))
    if illumination:
        support += illumination * (rows / height - 0.5 + 0.5 * np.sin(cols / width * np.pi))
    if texture:
        grain = ndimage.gaussian_filter(rng.normal(size=(height, width)), 2.0)
        support += texture * grain / (grain.std() or 1.0)
    sign = 1.0 if polarity == "bright" else -1.0
    image = support * np.clip(1.0 + sign * contrast * thickness, 0.02, None)
    if dose is not None:
        image = rng.poisson(np.clip(image, 0, None) * dose) / float(dose)
    if noise > 0:
        image = image + rng.normal(0.0, noise, size=image.shape)
    bar = None
    if scale_bar:
        bar = np.zeros((height, width), dtype=bool)
        bar[
            int(0.92 * height) : int(0.92 * height) + max(3, height // 60),
            int(0.70 * width) : int(0.92 * width),
        ] = True
        image[bar] = image.max() * 1.05  # saturated white, as most microscopes burn it in
    return image, bar


__all__ = ["render_particles"]
