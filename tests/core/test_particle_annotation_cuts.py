"""Particles a burned-in annotation cuts in pieces (particle_annotation_cuts.py)."""

import numpy as np

from napari_ivae.core.detection.particle_annotation_cuts import cut_pieces


def _discs(shape, centres, radius):
    rows, cols = np.indices(shape)
    labels = np.zeros(shape, dtype=np.int32)
    for index, (row, col) in enumerate(centres):
        labels[np.hypot(rows - row, cols - col) <= radius] = index + 1
    return labels


def test_the_two_pieces_of_a_particle_under_a_bar_are_pieces_and_the_rest_are_not():
    """A bar 6 px thick across the middle of a particle: the blob above and the one below
    meet across it. Two whole particles side by side along the bar's top edge, and two on
    either side of a 40 px tall box (wider than any particle here), do not."""
    shape = (200, 300)
    annotation = np.zeros(shape, dtype=bool)
    annotation[100:106, 20:280] = True  # the bar
    annotation[140:180, 200:260] = True  # an opaque box
    centres = np.array(
        [
            [92.0, 60.0],  # the piece above the bar
            [114.0, 60.0],  # the piece below
            [91.0, 150.0],  # two whole ones on the bar's top edge
            [91.0, 172.0],
            [131.0, 230.0],  # above and below the box
            [189.0, 230.0],
        ]
    )
    labels = _discs(shape, centres, 8.0)
    labels[annotation] = 0
    pieces = cut_pieces(labels, centres, annotation)
    assert pieces.tolist() == [True, True, False, False, False, False]


def test_no_annotation_or_one_particle_cuts_nothing():
    shape = (64, 64)
    labels = _discs(shape, [[20.0, 20.0], [40.0, 40.0]], 5.0)
    assert not cut_pieces(
        labels, np.array([[20.0, 20.0], [40.0, 40.0]]), np.zeros(shape, bool)
    ).any()
    annotation = np.zeros(shape, dtype=bool)
    annotation[30:33, 5:60] = True
    assert not cut_pieces(labels[:1], np.array([[20.0, 20.0]]), annotation[:1]).any()


def test_a_dark_particle_cut_by_a_white_bar_is_not_two_particles():
    """Fails before the rule: a dark disc of radius 16 under a white bar 8 px thick across its
    middle was found as the pieces on each side of the bar (3 points), beside the 8 whole
    particles."""
    from scipy import ndimage

    from napari_ivae.core.detection.particles import detect_particles

    rng = np.random.default_rng(3)
    shape = (256, 320)
    centres = [(40 + 60 * (k // 4), 40 + 75 * (k % 4)) for k in range(8)] + [(200, 160)]
    frame = np.where(_discs(shape, centres, 16.0) > 0, 70.0, 180.0)
    frame = ndimage.gaussian_filter(frame, 1.0) + rng.normal(0, 12, shape)
    frame = np.clip(np.round(frame), 0, 254).astype(np.uint8)
    frame[198:206, 90:251] = 255  # the bar through the last particle's middle
    found = detect_particles(frame)
    points = np.asarray(found.coords, dtype=float).reshape(-1, 3)[:, 1:]
    assert len(points) == 8
    assert (np.abs(points[:, 0] - 200) > 40).all()
