"""STM terrace scenes of :mod:`stranger_probe` (issue 9, round 35): a lattice on several flat
levels, the scan lines already aligned (no line offsets), the plane's tilt left in; heights in
metres. Each terrace carries the same hexagonal lattice, shifted by a/sqrt(3) from the one
below (fcc (111) stacking); steps are 10-20 x the corrugation or more, the noise 8 % of it.

Kinds: :mod:`stranger_blind`'s STM staircase with its line offsets and tip change left out;
terraces of different step heights (1-3 monatomic steps, up and down) along any direction,
sharp or blurred over 0.1-0.2 spacing (a blunt tip); a single step; steps curved as arcs
about a centre outside the frame.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from stranger_blind import stm_staircase
from stranger_fresh import HEX, atom_case, inside, lattice, probe_blur, splat

STEP = 2.4e-10  # a monatomic step, m


def terraces(rng, level_map, s, n_levels, heights, noise=0.08, step_blur=0.0):
    """A hexagonal lattice of spacing ``s`` on the terraces ``level_map`` (integers
    ``0 .. n_levels - 1``) at ``heights`` (m), with a plane tilt and white noise; the steps
    blurred by a Gaussian of ``step_blur`` px (the tip's apex)."""
    shape = level_map.shape
    angle = rng.uniform(0, np.pi)
    shift = np.array([0.0, s / np.sqrt(3)])
    pts_all = []
    for t in range(n_levels):
        pts, _ = lattice(shape, np.multiply(HEX[0], s), np.multiply(HEX[1], s), (t * shift,), angle)
        ij = np.clip(np.round(pts).astype(int), 0, np.array(shape) - 1)
        pts_all.append(pts[level_map[ij[:, 0], ij[:, 1]] == t])
    pts = np.concatenate(pts_all)
    sigma = rng.uniform(0.17, 0.2) * s
    blobs = probe_blur(splat(shape, pts, np.ones(len(pts))), sigma, 0.0)
    corr = rng.uniform(0.012, 0.024) * 1e-9
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    tilt = rng.uniform(-1, 1, 2) * np.ptp(heights) / shape[0] * 1.5
    levels = np.asarray(heights, dtype=float)[level_map]
    if step_blur:
        levels = ndimage.gaussian_filter(levels, step_blur)
    z = levels + corr * blobs / blobs.max() + tilt[0] * r + tilt[1] * c
    z += rng.normal(0, noise * corr, shape)
    step_band = ndimage.morphological_gradient(level_map, size=3) > 0
    ignore = ndimage.distance_transform_edt(~step_band) < 0.6 * s
    rule = f"atoms on all {n_levels} terraces (a band of 0.6 spacing at the steps left out)"
    case = atom_case(z.astype(np.float32), pts[inside(pts, shape)], rule)
    case["ignore"] = ignore
    return case


def _across(rng, shape):
    """The coordinate across straight steps along a random direction."""
    phi = rng.uniform(0, np.pi)
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    return np.cos(phi) * r + np.sin(phi) * c


def staircase_aligned(rng):
    """:mod:`stranger_blind`'s STM staircase with its lines aligned: no line offsets, no tip
    change (4-6 terraces, 9 px, a wavy step train, a plane tilt)."""
    return stm_staircase(rng, line=0.0, tip_change=False)


def step_heights(rng, blurred=False):
    """4-6 terraces along any direction, each step 1-3 monatomic steps up or down; with
    ``blurred``, each step rises over a Gaussian of 0.1-0.2 spacing (a blunt tip)."""
    shape, s = (512, 512), rng.uniform(7.0, 10.0)
    n = int(rng.integers(4, 7))
    u = _across(rng, shape)
    cuts = np.sort(rng.uniform(u.min(), u.max(), n - 1))
    while np.min(np.diff(np.r_[u.min(), cuts, u.max()])) < 4 * s:
        cuts = np.sort(rng.uniform(u.min(), u.max(), n - 1))
    level = np.searchsorted(cuts, u)
    jumps = rng.integers(1, 4, n - 1) * rng.choice([-1, 1], n - 1)
    heights = STEP * np.r_[0, np.cumsum(jumps)]
    blur = rng.uniform(0.1, 0.2) * s if blurred else 0.0
    return terraces(rng, level, s, n, heights, step_blur=blur)


def blurred_steps(rng):
    """:func:`step_heights` with each step blurred over 0.1-0.2 spacing (0.7-2 px)."""
    return step_heights(rng, blurred=True)


def single_step(rng):
    """Two terraces: one monatomic step along any direction, 0.3-0.7 of the way across."""
    shape, s = (512, 512), rng.uniform(7.0, 10.0)
    u = _across(rng, shape)
    cut = u.min() + rng.uniform(0.3, 0.7) * np.ptp(u)
    level = (u > cut).astype(int)
    return terraces(rng, level, s, 2, STEP * np.array([0.0, 1.0]) * rng.choice([-1, 1]))


def curved_steps(rng):
    """3-5 terraces bounded by arcs about a centre 1.2-2 frames outside the frame, monatomic
    steps (a step train bending round a pinning point or a screw dislocation far away)."""
    shape, s = (512, 512), rng.uniform(7.0, 10.0)
    n = int(rng.integers(3, 6))
    theta = rng.uniform(0, 2 * np.pi)
    centre = np.array(shape) / 2 + rng.uniform(1.2, 2.0) * shape[0] * np.array(
        [np.cos(theta), np.sin(theta)]
    )
    r, c = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    radius = np.hypot(r - centre[0], c - centre[1])
    cuts = np.linspace(radius.min(), radius.max(), n + 1)[1:-1]
    cuts += rng.uniform(-0.25, 0.25, n - 1) * np.ptp(radius) / n
    level = np.searchsorted(np.sort(cuts), radius)
    return terraces(rng, level, s, n, STEP * np.arange(n))


TERRACE_CASES = {
    "STM staircase, lines aligned": staircase_aligned,
    "STM terraces, step heights": step_heights,
    "STM terraces, blurred steps": blurred_steps,
    "STM single step": single_step,
    "STM curved steps": curved_steps,
}
