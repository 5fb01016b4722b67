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


@pytest.mark.parametrize("zoom", [0.5, 0.75])
def test_a_lower_magnification_has_the_larger_pixels_own_white_noise(zoom, monkeypatch):
    """Area binning of a noisy frame by 1.33 (x0.75) averages overlapping pixels: noise
    variance 0.60 of a camera with the larger pixels, lag-1 correlation 0.15, a 3-px pattern.
    The scenes' detector draws the larger pixels' counts instead: once binned, white, at
    their level (the expectation's mean over the area they cover)."""
    from real_variant_transforms import area_matrix

    lam = np.full((240, 240), 10.0)
    noise = heldlike._noise_of_larger_pixels(lam, 1.0, 0.0, zoom, 0)
    side = int(round(240 * zoom))
    bins = area_matrix(240, side)
    binned = bins @ (lam + noise) @ bins.T - 10.0
    assert abs(binned.var() / (10.0 * zoom**2) - 1) < 0.05
    lag1 = np.mean(binned[:, 1:] * binned[:, :-1]) / binned.var()
    assert abs(lag1) < 0.03
    phases = [binned[:, k::3].var() for k in range(3)]
    assert max(phases) / min(phases) < 1.1
    # the scene's later random draws are those of zoom 1 (the same numbers drawn)
    plain, lower = np.random.default_rng(1), np.random.default_rng(1)
    heldlike.detector(lam, 1.0, plain, read=1.0)
    monkeypatch.setattr(heldlike, "_LOWER_MAGNIFICATION", (zoom, 0))
    heldlike.detector(lam, 1.0, lower, read=1.0)
    assert plain.random() == lower.random()
