"""The atoms self-check's doubts from the frame itself (quality_frame.py, frame_order.py):
points that pass every check of their own arrangement, on a frame that is not their lattice."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from napari_ivae.core.detection.detections import make_detections
from napari_ivae.core.detection.frame_order import frame_order
from napari_ivae.core.detection.quality import assess, suggests_particles

SPACING = 8.0
SIDE = 320


def _atoms(points, spacing=SPACING, sigma=1.2):
    table = pd.DataFrame(
        {"row": points[:, 0], "col": points[:, 1], "snr": np.full(len(points), 20.0)}
    )
    params = {"spacing": spacing, "spacing_source": "auto", "sigma": sigma}
    return make_detections(table, params=params)


def _square(n=38, spacing=SPACING, jitter=0.3, seed=0):
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[:n, :n]
    points = np.column_stack([i.ravel(), j.ravel()]) * spacing + 10.0
    return points + jitter * rng.standard_normal(points.shape)


def _lattice(amplitude=1.0, spacing=SPACING):
    """A square lattice of Gaussian columns, one spacing apart, over the frame."""
    rows, cols = np.mgrid[:SIDE, :SIDE].astype(float)
    phase = 2 * np.pi / spacing
    return amplitude * (np.cos(phase * rows) + 1) * (np.cos(phase * cols) + 1)


def _texture(seed=0):
    """An amorphous film: smooth random texture, of unit spread, at every scale from 1.5 px."""
    rng = np.random.default_rng(seed)
    film = ndimage.gaussian_filter(rng.standard_normal((SIDE, SIDE)), 1.5)
    film += ndimage.gaussian_filter(rng.standard_normal((SIDE, SIDE)), 6.0) * 4
    return film / film.std()


def _fringes(spacing=SPACING, second=0.0):
    """Fringes along the rows, and ``second`` of their amplitude along the columns."""
    rows, cols = np.mgrid[:SIDE, :SIDE].astype(float)
    phase = 2 * np.pi / spacing
    return np.cos(phase * cols) + second * np.cos(phase * rows)


def test_frame_order_tells_a_lattice_from_a_faint_periodicity_and_from_fringes():
    rng = np.random.default_rng(1)
    lattice = frame_order(_lattice() + 0.3 * rng.standard_normal((SIDE, SIDE)), 1.2)
    assert lattice["reflection_share"] > 0.5 and lattice["second_share"] > 0.5
    faint = frame_order(_texture() + _lattice(0.15), 1.2)  # a 2D lattice, faint
    assert 0 < faint["reflection_share"] < 0.05 and faint["second_share"] > 0.5
    fringes = frame_order(_fringes(second=0.1) + 0.3 * rng.standard_normal((SIDE, SIDE)), 1.2)
    assert fringes["second_share"] < 0.1


def test_points_on_a_faint_periodicity_over_amorphous_texture_are_warned():
    """Fails before: a real HRSTEM frame of particles on amorphous carbon (tk_r_em's, 768 px)
    gave 3800 points on a 10.6 px "lattice" (a scan pattern carrying 2 % of the frame's
    detail) and no warning: the lattice-sites step had put the points on that lattice, so
    their own order was a lattice's. The same points on a frame of that lattice are not."""
    points = _square()
    faint = assess(_atoms(points), "atoms", frame=_texture() + _lattice(0.15))
    assert any("of the frame's detail" in w for w in faint["warnings"]), faint
    assert suggests_particles(faint["warnings"])
    clear = assess(_atoms(points), "atoms", frame=_texture() + _lattice(0.6))
    assert clear["warnings"] == [], clear["warnings"]
    assert assess(_atoms(points), "atoms")["warnings"] == []  # no frame, no doubt


def test_a_motif_on_a_frame_of_fringes_is_warned_and_on_a_lattice_is_not():
    """Fails before: points on a frame of fringes (a real HRSTEM frame whose support's fringes
    cross it: 2544 points, 22 % of their nearest neighbours at the spacing) were exempted as
    a motif of several columns per site (Si [110] dumbbells), since the points themselves
    form a lattice; the frame's second direction, 3 % of its first, says it has none."""
    square = _square()
    dumbbells = np.concatenate([square, square + np.array([0.0, 0.3 * SPACING])])
    rng = np.random.default_rng(2)
    noise = 0.3 * rng.standard_normal((SIDE, SIDE))
    on_fringes = assess(_atoms(dumbbells), "atoms", frame=_fringes(second=0.05) + noise)
    assert any("along one direction" in w for w in on_fringes["warnings"]), on_fringes
    on_lattice = assess(_atoms(dumbbells), "atoms", frame=_lattice() + noise)
    assert on_lattice["warnings"] == [], on_lattice["warnings"]


def test_atoms_at_the_pixel_limit_are_warned_and_pointed_to_particles():
    """Fails before: a constant-height STM frame of one molecule (Au/mica, 256 px) gave 1099
    points 2.0 px apart, on the scan's line-to-line offsets, and no warning. Atoms at a
    spacing the user gave are not doubted."""
    points = _square(n=60, spacing=2.0, jitter=0.05)
    frame = np.indices((SIDE, SIDE)).sum(0) % 2.0
    found = assess(_atoms(points, spacing=2.0, sigma=0.3), "atoms", frame=frame)
    assert any("pixel limit" in w for w in found["warnings"]), found
    assert suggests_particles(found["warnings"])
    given = _atoms(points, spacing=2.0, sigma=0.3)
    given.params["spacing_source"] = "given"
    assert assess(given, "atoms", frame=frame)["warnings"] == []


def test_a_handful_of_atoms_at_an_automatic_spacing_is_pointed_to_particles():
    """Fails before: a real image of a few nuclei (mahotas' nuclear.png) ended with "only 3
    atoms" at a 51 px spacing and no particles hint; a lattice's result is not hinted."""
    few = assess(_atoms(_square(n=2, spacing=51.0), spacing=51.0, sigma=5.0), "atoms")
    assert any(w.startswith("only 4 atoms") for w in few["warnings"]), few
    assert suggests_particles(few["warnings"])
    assert not suggests_particles(assess(_atoms(_square()), "atoms")["warnings"])
