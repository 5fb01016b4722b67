"""benchmarks/stranger_heldlike.py's ``--zoom``: the scene taken at another magnification keeps
its references, radii and invalid areas on what they mark, its dtype, and zoom 1 is the scene."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tests.core._scripts import load_script

heldlike = load_script("benchmarks/stranger_heldlike.py", "stranger_heldlike")
from real_variant_transforms import white_noise  # noqa: E402  (benchmarks/ on the path now)


def _case(shape=(120, 160)):
    """Bright disks (radius 6 px) at off-grid centres on an 8-bit frame; a corner invalid."""
    centres = np.array([[30.3, 40.7], [70.6, 100.2], [90.1, 30.4], [40.4, 130.8]])
    rows, cols = np.indices(shape, dtype=float)
    image = 20.0 + sum(200.0 * (np.hypot(rows - r, cols - c) <= 6.0) for r, c in centres)
    invalid = np.zeros(shape, bool)
    invalid[-10:, -25:] = True
    truth = np.column_stack([centres, np.full(len(centres), 6.0)])
    return heldlike.particle_case(image.astype(np.uint8), centres, truth[:, 2], "disks", invalid)


def _centroid(image, point, radius):
    r, c = np.round(point).astype(int)
    k = int(np.ceil(radius))
    window = image[r - k : r + k + 1, c - k : c + k + 1].astype(float)
    centre = ndimage.center_of_mass(np.clip(window - np.median(window), 0, None))
    return np.array(centre) + [r - k, c - k]


@pytest.mark.parametrize("zoom", [0.5, 0.75, 1.5, 2.0])
def test_references_radii_and_invalid_follow_the_zoom(zoom):
    case = _case()
    out = heldlike.zoomed(case, zoom)
    assert out["image"].dtype == np.uint8
    assert out["image"].shape == tuple(round(n * zoom) for n in case["image"].shape)
    assert np.allclose(out["truth"][:, 2], 6.0 * zoom, rtol=0.01)
    for point in out["truth"][:, :2]:
        assert np.hypot(*(_centroid(out["image"], point, 9 * zoom) - point)) < 0.3
    # the invalid corner: the same share of the frame, at least
    assert out["invalid"].mean() >= case["invalid"].mean()
    assert out["invalid"][-1, -1] and not out["invalid"][0, 0]


def test_zoom_one_is_the_scene_and_names_carry_the_zoom():
    case = _case()
    assert heldlike.zoomed(case, 1.0) is case
    small = heldlike.make("graphene_lowdose_256@x0.5", 0)
    whole = heldlike.make("graphene_lowdose_256", 0)
    assert small["image"].shape == (128, 128) and small["image"].dtype == whole["image"].dtype
    assert np.allclose(small["truth"], (whole["truth"] + 0.5) * 0.5 - 0.5)


def test_a_frame_that_would_grow_too_large_is_cropped(monkeypatch):
    monkeypatch.setattr(heldlike, "MAX_SIDE", 200)
    out = heldlike.zoomed(_case(), 2.0)
    assert out["image"].shape == (200, 200)
    # the crop kept the central 100 x 100 (rows 10-109, cols 30-129), its cut edges ignored
    assert len(out["truth"]) == 3
    assert out["ignore"][0, 100] and out["ignore"][100, 0] and not out["ignore"][100, 100]
    ij = np.round(out["truth"][:, :2]).astype(int)
    cut = out["ignore"][ij[:, 0], ij[:, 1]]
    assert list(cut) == [False, False, True]  # the disk halved by the crop's left edge
    for point in out["truth"][~cut, :2]:
        assert np.hypot(*(_centroid(out["image"], point, 18) - point)) < 0.3


def test_noise_added_back_after_up_sampling():
    case = heldlike.make("graphene_lowdose_256", 0)
    smooth = heldlike.make("graphene_lowdose_256@x2", 0)["image"].astype(float)
    noisy = heldlike.make("graphene_lowdose_256@x2+noise", 0)
    noise = white_noise(case["image"].astype(float))
    assert white_noise(smooth) < 0.6 * noise  # interpolation smooths it away
    assert abs(white_noise(noisy["image"].astype(float)) / noise - 1) < 0.25
    assert noisy["image"].dtype == case["image"].dtype
