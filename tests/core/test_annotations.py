"""Shapes drawn in napari -> class labels for patch centres."""

import numpy as np
import pytest

from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.annotations import labels_from_shapes


def _grid_points(n=20):
    rr, cc = np.mgrid[0:n, 0:n]
    return np.column_stack([rr.ravel(), cc.ravel()]).astype(float) + 0.5


def _rectangle(r0, c0, r1, c1, frame=None):
    corners = np.array([[r0, c0], [r0, c1], [r1, c1], [r1, c0]], dtype=float)
    if frame is not None:
        corners = np.column_stack([np.full(4, frame), corners])
    return corners


def test_rectangle_and_polygon_label_inside_points():
    points = _grid_points()
    triangle = np.array([[10, 10], [10, 20.2], [20.2, 10]], dtype=float)
    result = labels_from_shapes(
        points, None, [_rectangle(0, 0, 5, 5), triangle], ["rectangle", "polygon"], [0, 1]
    )
    inside_rect = (points[:, 0] < 5) & (points[:, 1] < 5)
    inside_tri = (points[:, 0] > 10) & (points[:, 1] > 10) & (points[:, 0] + points[:, 1] < 30.2)
    np.testing.assert_array_equal(result.labels == 0, inside_rect)
    np.testing.assert_array_equal(result.labels == 1, inside_tri)
    assert np.all(result.labels[~inside_rect & ~inside_tri] == -1)
    assert result.counts == {0: 25, 1: int(inside_tri.sum())}
    assert result.n_conflicts == 0 and result.labels.dtype == np.int64


def test_rotated_ellipse_uses_napari_corner_convention():
    # Ellipse with semi-axes 8 (along the diagonal) and 2, centred at (10, 10), rotated 45 deg.
    u = np.array([1.0, 1.0]) / np.sqrt(2)
    v = np.array([1.0, -1.0]) / np.sqrt(2)
    centre = np.array([10.0, 10.0])
    corners = np.array(
        [
            centre - 8 * u - 2 * v,
            centre + 8 * u - 2 * v,
            centre + 8 * u + 2 * v,
            centre - 8 * u + 2 * v,
        ]
    )
    # inside on both axes; outside across the minor axis; (4, 16) lies inside the axis-aligned
    # bounding box but outside the rotated ellipse; (3, 3) is just beyond the major axis end.
    probes = np.array(
        [centre + 7 * u, centre - 7 * u, centre + 1.5 * v, centre + 3 * v, [4.0, 16.0], [3.0, 3.0]]
    )
    result = labels_from_shapes(probes, None, [corners], ["ellipse"], [2])
    np.testing.assert_array_equal(result.labels, [2, 2, 2, -1, -1, -1])


def test_paths_and_lines_are_ignored_and_reported():
    points = _grid_points(5)
    line = np.array([[0, 0], [4, 4]], dtype=float)
    path = np.array([[0, 0], [4, 0], [4, 4]], dtype=float)
    result = labels_from_shapes(points, None, [line, path], ["line", "path"], [0, 1])
    assert np.all(result.labels == -1)
    assert result.n_ignored == 2 and "ignored" in result.message


def test_overlap_last_shape_wins_and_conflicts_counted():
    points = _grid_points(10)
    big = _rectangle(0, 0, 10, 10)
    small = _rectangle(0, 0, 3, 3)
    same_class = _rectangle(5, 5, 7, 7)
    result = labels_from_shapes(
        points, None, [big, small, same_class], ["rectangle"] * 3, [0, 1, 0]
    )
    in_small = (points[:, 0] < 3) & (points[:, 1] < 3)
    np.testing.assert_array_equal(result.labels, np.where(in_small, 1, 0))
    assert result.n_conflicts == 9  # overlap with the same class is no conflict
    reversed_order = labels_from_shapes(points, None, [small, big], ["rectangle"] * 2, [1, 0])
    assert np.all(reversed_order.labels == 0)


def test_stack_shapes_apply_to_their_frame_or_all_frames():
    points = np.array([[2.0, 2.0]] * 3 + [[8.0, 8.0]] * 3)
    frames = np.array([0, 1, 2, 0, 1, 2])
    on_frame_1 = _rectangle(0, 0, 4, 4, frame=1)
    everywhere = _rectangle(6, 6, 10, 10)
    result = labels_from_shapes(
        points, frames, [on_frame_1, everywhere], ["rectangle", "polygon"], [0, 1], ndim_image=3
    )
    np.testing.assert_array_equal(result.labels, [-1, 0, -1, 1, 1, 1])
    assert result.counts == {0: 1, 1: 3}


def test_frame_coordinate_ignored_for_2d_images():
    result = labels_from_shapes(
        [[2.0, 2.0]], None, [_rectangle(0, 0, 4, 4, frame=3)], ["rectangle"], [0]
    )
    np.testing.assert_array_equal(result.labels, [0])


@pytest.mark.parametrize(
    ("shapes", "types", "classes", "match"),
    [
        ([_rectangle(0, 0, 4, 4)], ["rectangle", "polygon"], [0], "one type and one class"),
        ([_rectangle(0, 0, 4, 4)], ["star"], [0], "unknown type"),
        ([_rectangle(0, 0, 4, 4)], ["rectangle"], [np.nan], "no valid class"),
        ([_rectangle(0, 0, 4, 4)], ["rectangle"], [-1], "no valid class"),
        ([np.array([[0, 0, 0], [1, 0, 4], [1, 4, 4]], float)], ["polygon"], [0], "spans frames"),
        ([np.array([[0.0, 0.0], [1.0, 1.0]])], ["polygon"], [0], "at least 3"),
    ],
)
def test_bad_shapes_raise(shapes, types, classes, match):
    with pytest.raises(InputError, match=match):
        labels_from_shapes(_grid_points(4), np.zeros(16), shapes, types, classes, ndim_image=3)


def test_bad_points_raise():
    with pytest.raises(InputError, match=r"\(N, 2\)"):
        labels_from_shapes(np.zeros((3, 3)), None, [], [], [])
    with pytest.raises(InputError, match="frame indices"):
        labels_from_shapes(np.zeros((3, 2)), np.zeros(2), [], [], [])


def test_vectorised_on_many_points():
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 1000, (200_000, 2))
    result = labels_from_shapes(points, None, [_rectangle(100, 100, 600, 300)], ["rectangle"], [0])
    expected = (
        (points[:, 0] > 100) & (points[:, 0] < 600) & (points[:, 1] > 100) & (points[:, 1] < 300)
    )
    np.testing.assert_array_equal(result.labels == 0, expected)
