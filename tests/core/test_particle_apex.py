"""A small dome on a larger one's slope, on a scanning-probe topograph, is found at its apex
(issue 9, benchmarks/stranger_blind.py's afm_tip_dilation: the blob's footprint is lopsided
there and its point lands 4-7 px from the sphere's centre, away from the neighbour)."""

import numpy as np

from napari_ivae.core.detection.particle_apex import apex_centres

SMALL = (64.0, 71.0)  # the small dome's apex, on the large dome's slope


def topograph(line_offsets=True, seed=0):
    """Heights of a large dome (radius 24) and a small one (radius 11) beside it, a tilt, line
    offsets (each line its own) and white noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:128, :128].astype(float)

    def dome(y, x, radius, base):
        d2 = (rows - y) ** 2 + (cols - x) ** 2
        return np.where(d2 < radius**2, base + np.sqrt(np.clip(radius**2 - d2, 0, None)), 0)

    z = np.maximum(dome(64, 48, 24, 0.0), dome(*SMALL, 11, 8.0))
    z += 0.02 * rows - 0.03 * cols + rng.normal(0, 0.05, z.shape)
    if line_offsets:
        z += rng.normal(0, 1.5, 128)[:, None]
    return z


def test_a_point_off_the_apex_climbs_to_it():
    start = np.array([[SMALL[0] + 1.0, SMALL[1] + 5.0]])  # pushed away from the neighbour
    moved = apex_centres(topograph(), start, np.array([8.0]))
    assert np.hypot(*(moved[0] - SMALL)) < 1.0


def test_a_frame_without_line_offsets_keeps_its_centres():
    start = np.array([[SMALL[0] + 1.0, SMALL[1] + 5.0], [64.0, 48.0]])
    kept = apex_centres(topograph(line_offsets=False), start, np.array([8.0, 17.0]))
    assert np.array_equal(kept, start)


def test_the_large_dome_stays_at_its_apex():
    moved = apex_centres(topograph(), np.array([[65.0, 47.0]]), np.array([17.0]))
    assert np.hypot(*(moved[0] - (64.0, 48.0))) < 1.5


def test_a_blob_the_levelling_takes_out_stays_where_it_was():
    """A bump made of line offsets alone (benchmarks/empty_frames.py "scan lines only": the
    blobs along single lines) is gone once the lines are levelled: no apex to climb to."""
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1.5, 128)[:, None] + rng.normal(0, 0.05, (128, 128))
    z[60:63] += 4.0  # three raised lines: a ridge blob along them
    start = np.column_stack([np.full(12, 61.0), np.linspace(12.0, 116.0, 12)])
    assert np.array_equal(apex_centres(z, start, np.full(12, 6.0)), start)
