"""Card-suit benchmark data: shapes, balance, determinism and ground truth."""

import numpy as np
import pytest
from scipy import ndimage

from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.cards import CARD_CLASSES, cards_protocol, make_cards


def _centroid(image):
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return np.array([(rows * image).sum() / total, (cols * image).sum() / total])


def test_shapes_dtypes_ranges_and_balance():
    cards = make_cards(5, size=40, rotation=60, shear=0.2, scale=(1.0, 1.3), translation=0.1)
    assert cards.images.shape == (20, 40, 40)
    assert cards.images.dtype == np.float32 and cards.images.flags.c_contiguous
    assert cards.images.min() >= 0.0 and cards.images.max() <= 1.0
    assert cards.labels.dtype == np.int64
    assert np.bincount(cards.labels).tolist() == [5, 5, 5, 5]
    assert cards.class_names == CARD_CLASSES
    assert cards.angles.shape == (20,) and np.abs(cards.angles).max() <= np.deg2rad(60)
    assert cards.shifts.shape == (20, 2)
    # 0.1 of a 40-px frame = 4 px = 4 / 19.5 half-widths
    assert np.abs(cards.shifts).max() <= 0.1 * 40 / 19.5 + 1e-9
    assert cards.shears.min() >= 0 and cards.shears.max() <= 0.2
    assert cards.scales.min() >= 1.0 and cards.scales.max() <= 1.3
    # every image shows a symbol with anti-aliased (intermediate) edge values
    assert (cards.images.reshape(20, -1).max(axis=1) > 0.9).all()
    assert ((cards.images > 0.05) & (cards.images < 0.95)).any()


def test_deterministic_by_seed():
    a = make_cards(3, rotation=30, translation=0.05, seed=7)
    b = make_cards(3, rotation=30, translation=0.05, seed=7)
    c = make_cards(3, rotation=30, translation=0.05, seed=8)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.angles, b.angles)
    assert not np.array_equal(a.images, c.images)
    assert a.params["seed"] == 7


def test_suits_are_distinct_but_related():
    upright = make_cards(1).images.reshape(4, -1)
    distance = np.linalg.norm(upright[:, None] - upright[None], axis=-1)
    off_diagonal = distance[~np.eye(4, dtype=bool)]
    assert off_diagonal.min() > 3.0  # clearly different images...
    clubs, spades, hearts, diamonds = range(4)
    # ...but spades are closer to clubs (shared stem and lobes) than to diamonds
    assert distance[spades, clubs] < distance[spades, diamonds]


def test_rotation_ground_truth_matches_rotating_the_upright_card():
    upright = make_cards(1, size=48).images
    rotated = make_cards(1, size=48, rotation=90, seed=3)
    for k in range(4):
        degrees = np.rad2deg(rotated.angles[k])
        assert abs(degrees) > 10  # the check below must be able to fail
        expected = ndimage.rotate(upright[k], degrees, reshape=False, order=1)
        wrong_way = ndimage.rotate(upright[k], -degrees, reshape=False, order=1)
        err = np.abs(rotated.images[k] - expected).mean()
        assert err < 0.02
        assert np.abs(rotated.images[k] - wrong_way).mean() > 2 * err


def test_shift_ground_truth_matches_centroid_displacement():
    size = 48
    upright = make_cards(1, size=size).images
    moved = make_cards(1, size=size, translation=0.1, seed=5)
    half_width = (size - 1) / 2
    for k in range(4):
        drow, dcol = _centroid(moved.images[k]) - _centroid(upright[k])
        dx, dy = moved.shifts[k] * half_width
        assert abs(dcol - dx) < 0.1 and abs(drow - dy) < 0.1


def test_scale_ground_truth_changes_area():
    base = make_cards(1).images.sum(axis=(1, 2))
    big = make_cards(1, scale=(1.3, 1.3)).images.sum(axis=(1, 2))
    np.testing.assert_allclose(big / base, 1.3**2, rtol=0.03)


def test_protocol_splits():
    protocol = cards_protocol(seed=1, n_labeled=4, n_unlabeled=6, n_test=5, size=32)
    assert len(protocol.labeled) == 16 and len(protocol.unlabeled) == 24
    assert len(protocol.test) == 20
    assert np.abs(protocol.labeled.angles).max() <= np.deg2rad(4)
    assert np.all(protocol.labeled.shifts == 0)
    assert np.abs(protocol.unlabeled.angles).max() <= np.deg2rad(60)
    assert np.abs(protocol.unlabeled.shifts).max() > 0
    seeds = {
        protocol.labeled.params["seed"],
        protocol.unlabeled.params["seed"],
        protocol.test.params["seed"],
    }
    assert len(seeds) == 3  # independent draws
    patches, labels = protocol.training_set()
    assert patches.shape == (40, 32, 32)
    assert (labels[:16] >= 0).all() and (labels[16:] == -1).all()
    again = cards_protocol(seed=1, n_labeled=4, n_unlabeled=6, n_test=5, size=32)
    np.testing.assert_array_equal(again.test.images, protocol.test.images)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_per_class=-1),
        dict(size=4),
        dict(scale=(1.2, 1.0)),
        dict(translation=0.6),
        dict(classes=("jokers",)),
    ],
)
def test_bad_parameters_raise_input_error(kwargs):
    kwargs = {"n_per_class": 1, **kwargs}
    with pytest.raises(InputError):
        make_cards(**kwargs)
