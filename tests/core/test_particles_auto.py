"""The automatic particle detector (polarity, scale and threshold from the image)."""

import numpy as np
import pytest

from napari_ivae.core.metrics import match_points
from napari_ivae.core.overlays import annotation_mask
from napari_ivae.core.particle_blobs import particle_cut
from napari_ivae.core.particles import detect_particles
from napari_ivae.core.synthetic.particles import make_particles


def _f1(detections, truth):
    radius = np.maximum(3.0, truth.radii)
    return match_points(detections.coords[:, 1:], truth.centres, float(np.median(radius))).f1


@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_polarity_scale_and_particles_found_without_parameters(polarity):
    truth = make_particles(256, count=40, radius=5, polarity=polarity, contrast=0.6,
                           texture=0.05, noise=0.05, seed=3)
    detections = detect_particles(truth.image, exclude_border=False)
    resolved = detections.params["resolved"]
    assert resolved["polarity"] == polarity
    assert 2.0 < resolved["scale_sigma"] < 10.0
    assert _f1(detections, truth) > 0.95


def test_dense_touching_particles_are_counted_once_each():
    truth = make_particles(256, count=200, radius=7, polarity="dark", touching=0.6,
                           contrast=0.6, texture=0.03, noise=0.05, seed=4)
    detections = detect_particles(truth.image, exclude_border=False)
    assert _f1(detections, truth) > 0.8
    # one label per found particle
    assert detections.labels.max() == len(detections)


def test_scale_bar_is_masked_and_reported():
    truth = make_particles(256, count=30, radius=6, polarity="bright", texture=0.05,
                           scale_bar=True, seed=5)
    assert annotation_mask(truth.image)[truth.scale_bar].all()
    detections = detect_particles(truth.image, exclude_border=False)
    assert detections.params["resolved"]["annotation_pixels"] >= truth.scale_bar.sum()
    bar_rows, bar_cols = np.nonzero(truth.scale_bar)
    inside_bar = ((detections.coords[:, 1] >= bar_rows.min() - 3)
                  & (detections.coords[:, 1] <= bar_rows.max() + 3)
                  & (detections.coords[:, 2] >= bar_cols.min() - 3)
                  & (detections.coords[:, 2] <= bar_cols.max() + 3))
    assert not inside_bar.any()
    assert _f1(detections, truth) > 0.9


def test_noise_alone_gives_no_particles():
    noise = np.random.default_rng(0).normal(1.0, 0.1, (192, 192))
    detections = detect_particles(noise)
    assert len(detections) == 0 and "No particles" in detections.message


def test_a_few_particles_on_a_clean_background_are_not_outnumbered_by_noise():
    truth = make_particles(256, count=4, radius=8, polarity="bright", noise=0.05, seed=6)
    detections = detect_particles(truth.image)
    assert len(detections) == len(truth.centres)


def test_cut_separates_two_populations():
    rng = np.random.default_rng(1)
    weak, strong = np.exp(rng.normal(0.0, 0.5, 2000)), np.exp(rng.normal(3.0, 0.3, 100))
    cut, mixture = particle_cut(np.concatenate([weak, strong]))
    assert (strong >= cut).mean() > 0.97 and (weak >= cut).mean() < 0.03
    assert mixture["strong"][2] == pytest.approx(100 / 2100, abs=0.02)
