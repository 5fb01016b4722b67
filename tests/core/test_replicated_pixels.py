"""A nearest-neighbour up-sampled frame (identical k x k blocks) searched one pixel a block."""

import numpy as np
import pytest

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.replicated_pixels import block_mask, block_replication
from napari_ivae.core.synthetic.lattice import make_lattice


def _up(image, k, crop=0):
    return np.kron(image, np.ones((k, k), dtype=image.dtype))[crop:, crop:]


@pytest.fixture(scope="module")
def lattice():
    image = make_lattice((96, 96), spacing=7.0, seed=5).image.astype(np.float32)
    return image, detect_atoms(image)


@pytest.mark.parametrize(("k", "crop"), [(3, 0), (3, 1), (4, 2)])
def test_replicated_lattice_found_where_the_original_puts_it(lattice, k, crop):
    image, original = lattice
    found = detect_atoms(_up(image, k, crop))
    expected = k * original.coords[:, 1:] + (k - 1) / 2 - crop
    assert len(original) > 100
    assert found.coords.shape == original.coords.shape
    np.testing.assert_allclose(found.coords[:, 1:], expected, atol=1e-6)
    for key in ("spacing", "sigma", "min_distance", "border"):
        assert found.params[key] == pytest.approx(k * original.params[key])
    assert found.params["replicated"]["block"] == k
    assert any("identical" in note for note in found.quality["notes"])
    assert not found.quality["warnings"]


def test_given_lengths_are_in_the_given_frames_pixels(lattice):
    image, _ = lattice
    original = detect_atoms(image, spacing=7.0, min_distance=3.0)
    found = detect_atoms(_up(image, 3), spacing=21.0, min_distance=9.0)
    np.testing.assert_allclose(found.coords[:, 1:], 3 * original.coords[:, 1:] + 1, atol=1e-6)
    assert found.params["min_distance"] == pytest.approx(9.0)


def test_stack_and_mask_one_pixel_a_block(lattice):
    image, _ = lattice
    mask = np.zeros(image.shape, dtype=bool)
    mask[:40, :40] = True
    original = detect_atoms(np.stack([image, image[::-1]]), exclude=mask, frame_axis=0)
    stack = np.stack([_up(image, 2), _up(image[::-1], 2)])
    found = detect_atoms(stack, exclude=_up(mask, 2), frame_axis=0)
    np.testing.assert_allclose(found.coords[:, 0], original.coords[:, 0])
    np.testing.assert_allclose(found.coords[:, 1:], 2 * original.coords[:, 1:] + 0.5, atol=1e-6)


def test_one_unequal_pixel_is_no_replicated_frame(lattice):
    image, _ = lattice
    frame = _up(image, 3)
    assert block_replication(frame[np.newaxis]) == (3, 0, 0)
    assert block_replication(frame[np.newaxis, 1:, 2:]) == (3, 2, 1)
    frame[40, 41] += 1e-3  # one pixel unlike the rest of its block
    assert block_replication(frame[np.newaxis]) is None
    stack = np.stack([_up(image, 3), frame])  # every frame must be
    assert block_replication(stack) is None
    assert "replicated" not in detect_atoms(frame).params
    assert block_replication(image[np.newaxis]) is None


def test_block_mask_is_set_where_any_pixel_of_the_block_is():
    mask = np.zeros((7, 8), dtype=bool)
    mask[3, 4] = True
    reduced = block_mask(mask, (3, 1, 2))  # blocks from row 1 and column 2
    assert reduced.shape == (3, 3)
    assert reduced.sum() == 1 and reduced[1, 1]
