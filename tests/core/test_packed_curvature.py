"""packed_phase on the curvature: a film whose gaps the level cut cannot keep (issue 9, h62)."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.detection import packed, packed_curvature
from napari_ivae.core.detection._filters import gaussian_smooth
from napari_ivae.core.detection.packed_curvature import curvature_layer
from napari_ivae.core.synthetic.particles import make_particles


def _film(seed, polarity, shape=256, radius=8.0, gap=0.8, dose=20.0):
    """Discs on a jittered hexagonal lattice, gaps of ``gap`` px, over a sloping liquid,
    blurred by 1.2 px (wider than the gaps), Poisson noise of ``dose`` counts a pixel."""
    rng = np.random.default_rng(seed)
    spacing = 2 * radius + gap
    n = int(shape / spacing) + 3
    i, j = np.mgrid[-n : n + 1, -n : n + 1]
    rows = i.ravel() * spacing * np.sqrt(3) / 2
    cols = j.ravel() * spacing + (i.ravel() % 2) * spacing / 2
    centres = np.stack([rows, cols], 1) + rng.normal(0, 0.03 * spacing, (rows.size, 2))
    yy, xx = np.mgrid[0:shape, 0:shape]
    inside = np.zeros((shape, shape), dtype=bool)
    for r, c in centres:
        if -radius < r < shape + radius and -radius < c < shape + radius:
            inside |= (yy - r) ** 2 + (xx - c) ** 2 <= radius**2
    liquid = 1.0 + 0.3 * (yy + xx) / (2 * shape)
    contrast = -0.3 if polarity == "dark" else 0.3
    signal = ndimage.gaussian_filter(liquid * (1 + contrast * inside), 1.2)
    return (rng.poisson(signal * dose) / dose).astype(np.float32), spacing


@pytest.mark.parametrize("polarity", ["dark", "bright"])
def test_a_film_with_gaps_narrower_than_the_blur_is_a_layer_on_its_curvature(polarity):
    frame, spacing = _film(1, polarity)
    use = np.ones(frame.shape, dtype=bool)
    # the level cut finds no layer: its gaps break or its particles merge
    assert packed._layer_phase(gaussian_smooth(frame, packed.PACKED_SMOOTH), use) is None
    found = curvature_layer(frame, use)
    assert found is not None and found[0] == polarity
    # the cell: half the centres' spacing over sqrt 2 (0.76-0.9 x the lattice's here; a
    # particle split in two would give about 0.6)
    assert 0.7 < found[2] * 2 * np.sqrt(2) / spacing < 1.1


def test_packed_phase_falls_back_on_the_curvature(monkeypatch):
    frame, _ = _film(1, "dark")
    found = packed.packed_phase(frame)
    assert found is not None and found[0] == "dark"
    monkeypatch.setattr(packed_curvature, "CURVATURE_SIGMAS", ())
    assert packed.packed_phase(frame) is None  # before: no cut of the level found it


@pytest.mark.parametrize("tag", ["clean", "low dose"])
def test_touching_random_particles_are_no_layer(tag):
    # 400 dark particles of radius 7 px at random on 384 px (a 0.42 cover, many touching):
    # on their curvature they pass the layer's piece tests, but few neighbours ring each
    extra = (
        dict(noise=0.05, texture=0.03)
        if tag == "clean"
        else dict(noise=0.0, dose=15, texture=0.08, illumination=0.3)
    )
    truth = make_particles(
        shape=384,
        count=400,
        radius=7,
        polarity="dark",
        touching=0.6,
        contrast=0.6,
        seed=407,
        **extra,
    )
    assert packed.packed_phase(np.asarray(truth.image, dtype=np.float32)) is None


def test_the_curvature_is_measured_once_for_the_same_crop(monkeypatch):
    # the binning's choice and each search ask packed_phase of the same crop through the
    # detection's memo, so its curvature fallback runs once a crop
    from napari_ivae.core.detection.detection_memo import remembered, using_memo

    frame, _ = _film(1, "dark")
    use = np.ones(frame.shape, dtype=bool)
    calls = []
    measure = packed_curvature.curvature_layer
    monkeypatch.setattr(
        packed_curvature, "curvature_layer", lambda *args: calls.append(1) or measure(*args)
    )
    with using_memo():
        first = remembered("packed_phase", packed.packed_phase, frame, use)
        again = remembered("packed_phase", packed.packed_phase, frame.copy(), use.copy())
        assert again == first
        assert len(calls) == 1
        other = frame.copy()
        other[0, 0] += 1.0
        remembered("packed_phase", packed.packed_phase, other, use)
        assert len(calls) == 2
