"""The particles' properties table, from sums over the labels: the values regionprops gives."""

import numpy as np
from skimage import draw, measure

from napari_ivae.core.detection.particles import _measure


def _labels_and_frame():
    rng = np.random.default_rng(3)
    labels = measure.label(rng.random((120, 160)) > 0.62).astype(np.int32)  # irregular pieces
    labels[labels > 0] += 10  # numbers with gaps, as after dropped particles
    for k, (row, col, radius) in enumerate([(20, 20, 6), (60, 60, 9.5), (95, 130, 3)]):
        rr, cc = draw.disk((row, col), radius, shape=labels.shape)
        labels[rr, cc] = 2 + k
    labels[5:8, 100:140] = 1  # a bar along the columns
    rr, cc = draw.ellipse(80, 30, 12, 4, rotation=0.6, shape=labels.shape)
    labels[rr, cc] = 9
    frame = rng.normal(size=labels.shape).astype(np.float32)
    frame[60, 60] = np.nan  # a NaN pixel: that particle's mean is NaN, as regionprops's
    return labels, frame


def test_the_properties_are_those_of_regionprops():
    labels, frame = _labels_and_frame()
    table = _measure(labels, frame)
    expected = measure.regionprops_table(
        labels,
        intensity_image=frame,
        properties=(
            "label",
            "centroid",
            "area",
            "equivalent_diameter_area",
            "eccentricity",
            "orientation",
            "intensity_mean",
        ),
    )
    assert np.array_equal(table["label"], expected["label"])
    for name, key in [
        ("row", "centroid-0"),
        ("col", "centroid-1"),
        ("area", "area"),
        ("equivalent_diameter", "equivalent_diameter_area"),
        ("eccentricity", "eccentricity"),
    ]:
        assert np.allclose(table[name], expected[key], rtol=1e-9, atol=1e-9), name
    assert np.allclose(
        table["mean_intensity"], expected["intensity_mean"], atol=1e-6, equal_nan=True
    )
    assert np.isnan(table["mean_intensity"]).sum() == 1
    # the axis (an angle modulo pi; a disc's is pi / 4 by regionprops's convention)
    angle, reference = 2 * table["orientation"], 2 * expected["orientation"]
    assert np.allclose(np.cos(angle), np.cos(reference), atol=1e-9)
    elongated = table["eccentricity"].to_numpy() > 1e-6
    assert np.allclose(np.sin(angle)[elongated], np.sin(reference)[elongated], atol=1e-9)
    discs = table["label"].isin([2, 3, 4]).to_numpy()
    assert np.allclose(table["orientation"][discs], expected["orientation"][discs])


def test_an_empty_labels_image_gives_an_empty_table():
    table = _measure(np.zeros((10, 10), np.int32), np.zeros((10, 10), np.float32))
    assert len(table) == 0 and "mean_intensity" in table
