"""The particle-mode preview: one point per object above the new threshold, on the polarity
the earlier detection resolved; nothing touching the edge; what it cannot preview, refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_ivae.core.detection.particle_preview import (
    can_preview_particles,
    large_enough,
    preview_particles,
    smoothed_signal,
)
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.io.image import prepare_image
from napari_ivae.core.synthetic.particles import make_particles


@pytest.mark.parametrize("polarity", ["bright", "dark"])
@pytest.mark.parametrize("method", ["otsu", "li", "local"])
def test_the_preview_finds_the_exact_methods_particles(method, polarity):
    image = prepare_image(make_particles((256, 256), count=30, polarity=polarity, seed=2).image)
    earlier = detect_particles(image)  # the auto method resolves the polarity
    assert earlier.params["resolved"]["polarity"] == polarity
    exact = detect_particles(image, method=method)
    points = preview_particles(smoothed_signal(image, earlier.params, "auto"), method)
    distance, _ = cKDTree(exact.coords[:, 1:]).query(points)
    assert len(points) >= 0.9 * len(exact.coords)
    assert (distance < 2.0).mean() >= 0.9


def test_the_preview_leaves_out_objects_on_the_edge_and_small_ones():
    image = np.zeros((64, 64), dtype=np.float32)
    image[1:6, 20:26] = 1.0  # touches the two outer rows
    image[30:38, 30:38] = 1.0  # 64 px
    image[50:53, 10:13] = 1.0  # 9 px: below the default size floor of 10
    points = preview_particles(image, "otsu")
    np.testing.assert_allclose(points, [[33.5, 33.5]])
    assert len(preview_particles(image, "otsu", min_size=5)) == 2
    assert len(preview_particles(np.ones((8, 8)), "li")) == 0  # flat: nothing


def test_what_cannot_be_previewed_is_refused():
    image = prepare_image(make_particles((96, 96), count=6, seed=1).image)
    params = detect_particles(image, method="otsu").params
    assert can_preview_particles(params)
    assert not can_preview_particles({**params, "is_stack": True})
    assert not can_preview_particles({**params, "excluded_pixels": 12})
    assert not can_preview_particles({**params, "resolved": [params["resolved"]]})
    assert not can_preview_particles(None)
    with pytest.raises(ValueError, match="no preview"):
        preview_particles(image, "auto")


def test_the_auto_methods_size_floor_is_previewed_from_its_particles():
    image = prepare_image(make_particles((192, 192), count=20, radius_spread=0.5, seed=5).image)
    earlier = detect_particles(image)
    areas = earlier.properties["area"].to_numpy()
    floor = int(np.median(areas))
    exact = detect_particles(image, min_size=floor)
    points = large_enough(earlier.coords[:, 1:], areas, floor)
    np.testing.assert_array_equal(points, exact.coords[:, 1:])
    assert len(large_enough(earlier.coords[:, 1:], areas, None)) == len(areas)
