"""k-means on latent codes: recovers separated groups, reproducible, clear errors."""

import numpy as np
import pytest

from napari_ivae.core.analysis.clustering import cluster_latents
from napari_ivae.core.errors import InputError
from napari_ivae.core.models.inference import Encoding


def _blobs(sizes, seed=0, spread=0.4):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    points = np.concatenate(
        [rng.normal(size=(n, 2)) * spread + centres[k] for k, n in enumerate(sizes)]
    )
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return points, truth


def test_recovers_separated_groups_numbered_by_size():
    points, truth = _blobs([60, 250, 120, 30])
    result = cluster_latents(points, 4, seed=1)
    # one cluster per true group, largest first
    assert [len(set(result.labels[truth == k])) for k in range(4)] == [1, 1, 1, 1]
    assert result.sizes.tolist() == [250, 120, 60, 30]
    assert result.labels[truth == 1][0] == 0 and result.labels[truth == 3][0] == 3
    np.testing.assert_allclose(result.centres[0], [6.0, 0.0], atol=0.1)
    assert result.summary()["n_clusters"] == 4


def test_same_seed_same_result_and_scale_free():
    points, _ = _blobs([50, 50, 50, 50], spread=2.0)  # overlapping: the seed matters
    a, b = cluster_latents(points, 4, seed=3), cluster_latents(points, 4, seed=3)
    np.testing.assert_array_equal(a.labels, b.labels)
    # standardised features: stretching one axis does not change the grouping
    stretched = cluster_latents(points * np.array([1000.0, 1.0]), 4, seed=3)
    np.testing.assert_array_equal(stretched.labels, a.labels)


def test_no_cluster_is_left_empty():
    from napari_ivae.core.analysis.clustering import _assign

    # centre 2 is nobody's nearest: it takes the point worst served by its centre
    distances = np.array([[0.0, 9.0, 8.0], [0.1, 9.0, 8.0], [7.0, 0.0, 6.5], [5.0, 0.2, 9.0]])
    labels = _assign(distances, 3)
    assert labels.tolist() == [0, 0, 1, 2]
    # a singleton is never emptied to fill another cluster
    assert sorted(np.bincount(_assign(distances[[0, 2]], 2), minlength=2)) == [1, 1]


def test_encoding_angle_features_separate_orientations():
    n = 40
    z = np.random.default_rng(0).normal(size=(2 * n, 2)).astype(np.float32) * 0.1
    angle = np.concatenate([np.full(n, 0.2), np.full(n, 2.0)]).astype(np.float32)
    encoding = Encoding(z_mean=z, z_std=np.ones_like(z), angle=angle)
    with_angle = cluster_latents(encoding, 2, use_angle=True)
    assert len(set(with_angle.labels[:n])) == 1 and with_angle.labels[0] != with_angle.labels[-1]
    assert with_angle.features == ("z1", "z2", "cos angle", "sin angle")
    no_angle = Encoding(z_mean=z, z_std=np.ones_like(z))
    with pytest.raises(InputError, match="no angle"):
        cluster_latents(no_angle, 2, use_angle=True)


@pytest.mark.parametrize(
    "codes, k, message",
    [
        (np.zeros((10, 2)), 1, ">= 2"),
        (np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), 3, "2 distinct"),
        (np.array([[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]]), 2, "NaN"),
        (np.zeros((2, 2, 2)), 2, "(N, F)"),
    ],
)
def test_bad_codes_raise_clear_errors(codes, k, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cluster_latents(codes, k)


def test_assign_puts_new_codes_in_the_same_classes_after_a_round_trip():
    import json

    from napari_ivae.core.analysis.clustering import Clustering

    points, truth = _blobs([80, 60, 40, 20], spread=0.3)
    found = cluster_latents(points * np.array([50.0, 1.0]), 4, seed=2)
    stored = Clustering.from_dict(json.loads(json.dumps(found.to_dict())))
    new_points, new_truth = _blobs([10, 10, 10, 10], seed=7, spread=0.3)
    labels = stored.assign(new_points * np.array([50.0, 1.0]))
    # each new point lands in the class that holds its group in the original clustering
    expected = np.array([found.labels[truth == t][0] for t in new_truth])
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(stored.assign(points * np.array([50.0, 1.0])), found.labels)
    with pytest.raises(InputError, match="3 features"):
        stored.assign(np.zeros((4, 3)))
    with pytest.raises(InputError, match="damaged"):
        Clustering.from_dict({"centres": [[0, 0]]})
