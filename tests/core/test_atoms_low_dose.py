"""Default atom detection at low dose (issue 9): the columns' width measured whatever the
smoothing, and a contrast cut that keeps a lattice's weak columns (benchmarks/stranger_atoms.py:
'hex 8 dose 2', 'square 6 wide atoms dose 5')."""

import numpy as np

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection import atom_threshold
from napari_ivae.core.detection.atoms import detect_atoms


def lattice_image(kind, separation, sigma, dose, size=384, background=0.2, seed=0):
    """Gaussian columns (peak 1) on a square or hexagonal lattice, Poisson counts at ``dose``
    per unit; the image and the columns."""
    rng = np.random.default_rng(seed)
    t = np.deg2rad(rng.uniform(0, 60))
    second = np.pi / 2 if kind == "square" else np.pi / 3
    a1 = separation * np.array([np.sin(t), np.cos(t)])
    a2 = separation * np.array([np.sin(t + second), np.cos(t + second)])
    n = int(2 * size / separation)
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1))
    sites = rng.uniform(0, 5, 2) + i.reshape(-1, 1) * a1 + j.reshape(-1, 1) * a2
    reach = int(np.ceil(4 * sigma))
    sites = sites[np.all((sites > 1 - reach) & (sites < size + reach - 2), axis=1)]
    image = np.zeros((size + 4 * reach + 4,) * 2)
    base = np.floor(sites).astype(int)
    for dr in range(-reach, reach + 2):
        for dc in range(-reach, reach + 2):
            rows, cols = base[:, 0] + dr, base[:, 1] + dc
            value = np.exp(
                -((rows - sites[:, 0]) ** 2 + (cols - sites[:, 1]) ** 2) / (2 * sigma**2)
            )
            np.add.at(image, (rows + 2 * reach, cols + 2 * reach), value)
    image = image[2 * reach : 2 * reach + size, 2 * reach : 2 * reach + size] + background
    inside = np.all((sites >= 0) & (sites < size), axis=1)
    return rng.poisson(image * dose) / dose, sites[inside]


def f1_recall(found, truth, separation, size):
    def inside(points):
        margin = 0.5 * separation
        return points[np.all((points >= margin) & (points < size - margin), axis=1)]

    found, truth = inside(found), inside(truth)
    hits = match_points(found, truth, 0.35 * separation).true_positives
    precision, recall = hits / len(found), hits / len(truth)
    return 2 * precision * recall / (precision + recall), precision, recall


def test_column_width_follows_the_columns_at_low_dose():
    from napari_ivae.core.detection.column_width import column_width

    # wide, overlapping columns and narrow ones, both at a few counts per column
    for kind, separation, sigma, dose in (("square", 6.0, 1.8, 5.0), ("hex", 8.0, 1.04, 2.0)):
        image, _ = lattice_image(kind, separation, sigma, dose)
        width = column_width(image, separation)
        assert abs(width - sigma) < 0.2 * sigma, (kind, width)


def test_the_detector_measures_the_width_not_its_own_smoothing():
    # the first pass's atoms at low dose gave 0.5 px (the width floor) for columns of 1.04 px
    image, _ = lattice_image("hex", 8.0, 1.04, 2.0)
    found = detect_atoms(image)
    assert abs(found.params["atom_width"] - 1.04) < 0.2
    assert found.params["sigma"] > 1.0  # was 0.8, the smoothing's lower bound


def test_a_low_dose_lattice_keeps_its_weak_columns():
    # about 2.4 counts at a column's peak: a third of the columns were below the cut (R 0.68)
    image, truth = lattice_image("hex", 8.0, 1.04, 2.0)
    found = detect_atoms(image)
    f1, precision, recall = f1_recall(found.coords[:, -2:], truth, 8.0, image.shape[0])
    assert recall > 0.85 and precision > 0.97, (precision, recall)


def test_the_first_pass_keeps_the_cut_of_an_all_noise_frame():
    # a lattice whose columns stand at 2 to 4 noise: the first pass keeps its floor
    rng = np.random.default_rng(1)
    params = {"sigma": 1.0, "background": 4.0, "min_distance": 3.2, "spacing": 8.0}
    prominence = rng.normal(3.0, 0.4, 2000)
    area = 2000 * 55.0  # a hexagonal lattice's cell at 8 px
    args = (prominence, 1.0 * 2 * np.sqrt(np.pi), 1.0, area)
    cut = atom_threshold.contrast_cut(*args, params, _white_noise_contrasts)
    first_pass = atom_threshold.contrast_cut(
        *args, {**params, "confident": True}, _white_noise_contrasts
    )
    assert first_pass >= atom_threshold.CONFIDENT_SNR
    assert cut < 2.2


def _white_noise_contrasts(frame, params):
    from napari_ivae.core.detection.atom_frame import _null_contrasts

    return _null_contrasts(frame, params)
