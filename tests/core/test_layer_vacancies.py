"""A packed layer's vacancies: a maximum at the particles' scale surrounded by kept particles is
cut by the false discovery rate over the maxima competing at that scale; one beside a kept
particle, in an open patch or at the frame's edge is not."""

import numpy as np
import pytest

from napari_ivae.core.detection.layer_vacancies import off_vacancies, with_vacancies

SPACING = 12.0
SHAPE = (200, 200)


def _hexagonal(shape=SHAPE, spacing=SPACING):
    rows, cols = np.mgrid[0:40, 0:40].astype(float)
    points = np.column_stack(
        [
            rows.ravel() * spacing * np.sqrt(3) / 2,
            cols.ravel() * spacing + (rows.ravel() % 2) * spacing / 2,
        ]
    )
    inside = ((points >= 0) & (points < np.asarray(shape))).all(axis=1)
    return np.round(points[inside]).astype(np.int64)


def _layer():
    """Kept particles (strength 30 at sigma 4, the cut 20) on a hexagonal layer, less one
    interior site, one site on the frame's edge and an open patch of radius 40 px."""
    sites = _hexagonal()
    interior = sites[np.argmin(np.hypot(*(sites - [100, 100]).T))]
    edge = sites[np.argmin(np.hypot(*(sites - [100, 0]).T))]
    patch = np.array([150, 150])
    gone = (
        (sites == interior).all(axis=1)
        | (sites == edge).all(axis=1)
        | (np.hypot(*(sites - patch).T) < 40)
    )
    kept = sites[~gone]
    candidates = (kept, np.full(len(kept), 4.0), np.full(len(kept), 30.0))
    beside = kept[np.argmin(np.hypot(*(kept - [60, 60]).T))] + [3, 0]
    more = np.array([interior, edge, patch, beside])
    every = (more, np.full(4, 4.0), np.full(4, 15.0))
    return candidates, every, interior


def test_only_the_vacancy_inside_the_layer_joins_at_the_lower_level():
    candidates, every, interior = _layer()
    scales, scale_cut = np.array([2.0, 4.0]), np.array([25.0, 20.0])
    (points, sigma, strength), own_cut = with_vacancies(
        candidates, every, scales, scale_cut, 1, 12.0, SHAPE
    )
    assert len(points) == len(candidates[0]) + 1
    assert tuple(points[-1]) == tuple(interior) and strength[-1] == 15.0
    assert own_cut[-1] == 12.0 and np.isinf(own_cut[:-1]).all()


@pytest.mark.parametrize("level", [16.0, 20.0])
def test_no_vacancy_below_the_level_or_without_a_lower_level(level):
    candidates, every, _ = _layer()
    scales, scale_cut = np.array([2.0, 4.0]), np.array([25.0, 20.0])
    (points, _, _), own_cut = with_vacancies(candidates, every, scales, scale_cut, 1, level, SHAPE)
    assert len(points) == len(candidates[0]) and np.isinf(own_cut).all()


def test_the_faint_pass_finds_a_vacancy_once():
    points = np.array([[50, 50], [50, 62], [80, 80]])
    radius = np.full(3, 5.0)
    vacancy = np.array([True, False, True])
    found = np.array([[51, 52], [50, 63], [120, 120]])
    assert list(off_vacancies(found, points, radius, vacancy)) == [False, True, True]
