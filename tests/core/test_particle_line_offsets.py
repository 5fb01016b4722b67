"""Scan-line offsets taken out of the faint pass's frame, the other axis's lines the null."""

import numpy as np

from napari_ivae.core.detection import particle_faint, particle_line_offsets
from napari_ivae.core.detection.particle_line_offsets import line_offsets


def _support(seed, line_std, shape=(384, 384)):
    rng = np.random.default_rng(seed)
    frame = 10.0 + rng.standard_normal(shape)
    return frame + line_std * rng.standard_normal((shape[0], 1)), rng


def test_line_offsets_are_taken_out_only_where_the_rows_vary_beyond_the_columns():
    use = np.ones((384, 384), dtype=bool)
    striped, _ = _support(0, 0.3)
    levelled, axis = line_offsets(striped, use, np.full(striped.shape, 10.0), 20)
    assert axis == 0
    assert np.std(levelled.mean(axis=1)) < 0.1 < np.std(striped.mean(axis=1))
    plain, _ = _support(1, 0.0)
    same, axis = line_offsets(plain, use, np.full(plain.shape, 10.0), 20)
    assert axis is None and same is plain
    # offsets along the columns: the rows are the null
    levelled, axis = line_offsets(striped.T, use, np.full(striped.shape, 10.0), 20)
    assert axis == 1


def _faint_frame(seed, line_std):
    """HAADF-like counts: a support of 4 counts a pixel, 12 kept particles (+12 counts) and
    12 faint ones (radius about 2, +4.5 counts) far from them, each scan line offset."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:384, 0:384]
    mean = np.full((384, 384), 4.0)
    kept = np.array([(40 + 60 * (k // 4), 40 + 100 * (k % 4)) for k in range(12)])
    for row, col in kept:
        mean += 12.0 * np.exp(-((yy - row) ** 2 + (xx - col) ** 2) / (2 * 3.0**2))
    faint = np.array([(70 + 120 * (k // 4), 70 + 100 * (k % 4)) for k in range(12)])
    for row, col in faint:
        mean += 4.5 * np.exp(-((yy - row) ** 2 + (xx - col) ** 2) / (2 * 1.3**2))
    frame = rng.poisson(mean) + line_std * rng.standard_normal((384, 1))
    return frame.astype(np.float32), kept, faint


def _faint(frame, kept):
    return particle_faint.faint_particles(frame, kept, np.full(len(kept), 4.5))


def test_the_faint_pass_finds_small_particles_under_line_offsets(monkeypatch):
    # offsets of half the pixel noise: the narrow filter's response carries them (a noise
    # no pixel count foresees), and the false-discovery cut stops above the faint particles
    frame, kept, faint = _faint_frame(1, 1.0)
    found, info = _faint(frame, kept)
    assert info["faint_lines"] == 0
    near = np.hypot(*(found[:, None, :] - faint[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert len(found) >= 5 and (near <= 3).all()
    monkeypatch.setattr(particle_line_offsets, "line_offsets", lambda values, *_: (values, None))
    unlevelled, _ = _faint(frame, kept)
    assert len(unlevelled) <= 2


def test_a_poisson_frame_without_offsets_is_not_levelled():
    for seed in range(4):
        frame, kept, _ = _faint_frame(seed, 0.0)
        assert _faint(frame, kept)[1]["faint_lines"] is None
