"""The offsets of blobs' squares: sectors and distances as pixel by pixel (arctan2, hypot)."""

import numpy as np

from napari_ivae.core.detection.particle_offsets import (
    sector_of,
    square_distances,
    square_sectors,
)


def _squares(centres, reach):
    """Offsets of each centre's square, built on its nearest pixel (as profile_model)."""
    centres = np.asarray(centres, dtype=np.float64)
    anchor = np.rint(centres).astype(np.int64)
    steps = np.arange(-reach, reach + 1)
    along_y = (anchor[:, :1] + steps - centres[:, :1])[:, :, None]
    along_x = (anchor[:, 1:] + steps - centres[:, 1:])[:, None, :]
    return along_y, along_x, centres - anchor


def _centres(count, seed):
    rng = np.random.default_rng(seed)
    at = rng.uniform(20, 600, (count, 2))
    at[: count // 6] = np.rint(at[: count // 6])  # on a pixel
    fraction = rng.uniform(-0.5, 0.5, count // 6)
    diagonal = np.rint(at[count // 6 : count // 3])
    diagonal[:, 0] += fraction  # on a diagonal between pixels: |y| = |x| for some pixels
    diagonal[:, 1] += fraction[: len(diagonal)] * np.where(np.arange(len(diagonal)) % 2, 1, -1)
    at[count // 6 : count // 3] = diagonal
    at[count // 3 : count // 3 + 4, 0] = np.rint(at[count // 3 : count // 3 + 4, 0])  # y = 0 row
    at[count // 3 + 4 : count // 3 + 8, 1] = np.rint(at[count // 3 + 4 : count // 3 + 8, 1]) + 0.5
    return at


def test_square_sectors_equal_the_arc_tangents_for_every_kind_of_centre():
    for seed, reach in ((0, 7), (1, 13), (2, 30)):
        along_y, along_x, offset = _squares(_centres(60, seed), reach)
        square = (len(offset), along_y.shape[1], along_x.shape[2])
        rng = np.random.default_rng(seed)
        inside = rng.random(square) < 0.8
        expected = sector_of(
            np.broadcast_to(along_y, square)[inside], np.broadcast_to(along_x, square)[inside]
        )
        found = square_sectors(along_y, along_x, inside, offset)
        assert found.dtype == np.int64
        np.testing.assert_array_equal(found, expected)
        assert set(np.unique(found)) == set(range(8))


def test_square_sectors_of_centres_all_on_pixels_or_all_off():
    for centres in (np.array([[40.0, 50.0], [100.0, 7.0]]), np.array([[40.3, 50.1], [9.7, 8.45]])):
        along_y, along_x, offset = _squares(centres, 9)
        square = (2, 19, 19)
        inside = np.ones(square, dtype=bool)
        expected = sector_of(np.broadcast_to(along_y, square), np.broadcast_to(along_x, square))
        np.testing.assert_array_equal(
            square_sectors(along_y, along_x, inside, offset), expected.ravel()
        )


def test_square_distances_equal_hypot_on_pixels_and_off():
    for centres, on_pixel in (
        (np.array([[40.0, 50.0], [100.0, 7.0], [3.0, 3.0]]), True),
        (np.array([[40.3, 50.0], [100.0, 7.25]]), False),
    ):
        along_y, along_x, _ = _squares(centres, 11)
        expected = np.hypot(along_y, along_x).reshape(len(centres), -1)
        found = square_distances(along_y, along_x, on_pixel)
        assert found.shape == expected.shape
        np.testing.assert_array_equal(found, expected)


def test_square_distances_of_kept_pixels_are_those_columns_of_the_whole_square():
    keep = np.array([0, 5, 17, 60, 200, 528])  # ascending flat indices into a 23 x 23 square
    for centres, on_pixel in (
        (np.array([[40.0, 50.0], [100.0, 7.0]]), True),
        (np.array([[40.3, 50.0], [100.0, 7.25], [3.5, 9.5]]), False),
    ):
        along_y, along_x, _ = _squares(centres, 11)
        whole = np.hypot(along_y, along_x).reshape(len(centres), -1)
        found = square_distances(along_y, along_x, on_pixel, keep)
        assert found.shape == (len(centres), len(keep))
        np.testing.assert_array_equal(found, whole[:, keep])
