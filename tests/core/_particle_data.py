"""The robustness benchmark's dense layer ("n400 r7"), clean or at low dose, and its sparse
low-dose image ("n150 r6 low dose"); any particles in its low-dose condition."""

from napari_ivae.core.synthetic.particles import make_particles

# the benchmark's low dose: 15 counts a pixel, 8 % support texture, illumination uneven by 30 %
LOW_DOSE = dict(noise=0.0, dose=15, texture=0.08, illumination=0.3)


def low_dose(side, *, count, radius, seed, polarity="bright", touching=0.0):
    """``count`` particles of ``radius`` on ``side`` px in the benchmark's low-dose condition
    (``LOW_DOSE``), contrast 0.6, a ``touching`` share of them touching a neighbour."""
    return make_particles(
        side,
        count=count,
        radius=radius,
        polarity=polarity,
        touching=touching,
        contrast=0.6,
        seed=seed,
        **LOW_DOSE,
    )


def dense_layer(seed, polarity="dark", low_dose=False):
    """400 particles of radius 7 on 384 px, 60 % of them touching a neighbour: clean (noise
    0.05, texture 0.03) or at low dose (15 counts a pixel, 8 % texture, illumination uneven by
    30 %), as the robustness benchmark draws them."""
    condition = LOW_DOSE if low_dose else dict(noise=0.05, texture=0.03)
    return make_particles(
        384,
        count=400,
        radius=7,
        polarity=polarity,
        touching=0.6,
        contrast=0.6,
        seed=seed,
        **condition,
    )


def sparse_low_dose(polarity, seed):
    """150 particles of radius 6 on 384 px at low dose (``LOW_DOSE``), 30 % of them touching a
    neighbour: the robustness benchmark's "n150 r6 low dose"."""
    return low_dose(384, count=150, radius=6, seed=seed, polarity=polarity, touching=0.3)


def packed_layer_points(frame):
    """The default detection's points ``(N, 2)`` on ``frame``, which it must read as a packed
    layer (its ``packed_cut`` set)."""
    import numpy as np

    from napari_ivae.core.detection.particles import detect_particles

    found = detect_particles(frame)
    assert found.params["resolved"]["packed_cut"]
    return np.asarray(found.coords, dtype=np.float64)[:, 1:]


def sphere_thickness(centres, shape, radius):
    """The projected thickness of spheres of ``radius`` at ``centres`` (row, col) on a frame
    of ``shape``: a film of packed particles seen in transmission."""
    import numpy as np

    rows, cols = np.mgrid[: shape[0], : shape[1]]
    thickness = np.zeros(shape)
    for row, col in centres:
        inside = (rows - row) ** 2 + (cols - col) ** 2
        thickness += 2 * np.sqrt(np.clip(radius**2 - inside, 0, None))
    return thickness
