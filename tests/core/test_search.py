"""The beta(t) search: scores, choice, determinism across processes, heat map."""

import math

import numpy as np
import pytest

from napari_ivae.core.analysis.search import (
    EDGE_RESOLUTION,
    SearchResult,
    SearchRun,
    choose,
    heatmap_image,
    score_maps,
    search_beta,
)
from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, TrainConfig


def test_score_maps_prefers_the_smooth_active_map_and_ignores_flat_ones():
    rng = np.random.default_rng(0)
    step = np.zeros((16, 16))
    step[:, 8:] = 2.0  # one straight wall
    noise = rng.normal(0, 1, (16, 16))
    scores = score_maps(np.stack([noise, step]))
    assert scores["map_index"] == 1 and scores["active"] == 2
    assert scores["edge"] < 20  # about one wall 16 cells long
    flat = score_maps(np.stack([np.full((16, 16), 0.3), step * 0.01]))  # variance < 0.01
    assert flat["active"] == 0 and flat["map_index"] == -1 and math.isnan(flat["edge"])


def test_score_maps_scores_only_the_designated_phase_maps():
    rng = np.random.default_rng(1)
    step = np.zeros((16, 16))
    step[:, 8:] = 2.0
    rough = rng.normal(0, 1, (16, 16))  # z1 rougher than z2
    assert score_maps(np.stack([rough, step]))["map_index"] == 1
    designated = score_maps(np.stack([rough, step]), designated=1)
    assert designated["map_index"] == 0 and designated["active"] == 2
    assert designated["edge"] == pytest.approx(score_maps(rough[None])["edge"])
    # a flat z1 shows no phase: the run counts as collapsed, whatever z2 shows
    flat = score_maps(np.stack([np.full((16, 16), 0.3), step]), designated=1)
    assert flat["map_index"] == -1 and flat["active"] == 1
    assert SearchRun(0.1, 1.0, 1.0, **flat).collapsed


def test_search_scores_z1_when_the_term_designates_it(grid_patches_small, monkeypatch):
    import napari_ivae.core.analysis.search as search

    seen = []

    def scores(z_maps, designated=0):  # what the worker scores: edge = designated + 1
        return {"edge": designated + 1.0, "fourier": 0.5, "map_index": 0, "active": 1}

    monkeypatch.setattr(search, "score_maps", scores)  # forked workers inherit it
    patches, grid_shape = grid_patches_small
    model_config = ModelConfig("shift-vae", patch_shape=patches.shape[1:], hidden=(8,))
    for lams, latents, designated in (((0.0, 0.5), 1, 1), ((0.0,), 1, 0), ((0.0, 0.5), 0, 0)):
        config = TrainConfig.defaults_for(
            "shift-vae", epochs=1, batch_size=64, smoothness_latents=latents
        )
        result = search_beta(
            patches,
            grid_shape,
            beta_starts=(1.0,),
            beta_ends=(1.0,),
            smoothness=lams,
            model_config=model_config,
            train_config=config,
            workers=1,
            mp_context="fork",
        )
        seen.append([run.edge for run in result.runs])
        # the lambda 0 baseline is scored on the same map as the runs with the term
        assert [run.edge for run in result.runs] == [designated + 1.0] * len(lams)
        assert result.train_result.train_config.smoothness_latents == latents
    assert seen == [[2.0, 2.0], [1.0], [1.0, 1.0]]


def test_choose_never_picks_a_collapsed_run():
    runs = [
        SearchRun(0.1, 1.0, 0.0, edge=5.0, fourier=0.5, map_index=0, active=1),
        SearchRun(1.0, 1.0, 0.0, edge=8.0, fourier=0.5, map_index=0, active=1),
        SearchRun(2.0, 2.0, 0.0),
    ]  # collapsed: no active map
    assert choose(runs) == (0, 1)
    text = SearchResult(runs, 0, 1, (4, 4)).summary()
    assert "beta 0.1 -> 1" in text and "beta 1 (fixed)" in text and "38 %" in text
    image = heatmap_image(SearchResult(runs, 0, 1, (4, 4)), cell=12)
    assert image.shape == (3 * 12, 2 * 12, 3)  # beta_start 0.1, 1, 2 x beta_end 1, 2
    assert tuple(image[24, 0]) == (230, 30, 30)  # chosen (0.1 -> 1) framed in red, bottom left
    assert tuple(image[12, 0]) == (255, 255, 255)  # best fixed beta (1 -> 1) in white
    assert tuple(image[6, 18]) == tuple(image[6, 6]) == (160, 160, 160)  # collapsed, not run


def test_choose_breaks_a_tie_below_one_grid_cell_by_the_reconstruction():
    # edges of the two-domain sample's 3 x 3 default search: settings that train the same
    # maps differ in the second decimal, which must not decide
    runs = [
        SearchRun(0.01, 0.5, 0.0, edge=42.29, fourier=0.742, map_index=0, recon=-787.7, active=2),
        SearchRun(0.01, 1.0, 0.0, edge=42.28, fourier=0.743, map_index=0, recon=-787.4, active=2),
        SearchRun(1.0, 1.0, 0.0, edge=42.30, fourier=0.742, map_index=0, recon=-787.5, active=2),
        SearchRun(0.1, 2.0, 0.0, edge=44.0, fourier=0.8, map_index=0, recon=-790.0, active=2),
    ]
    assert choose(runs) == (0, 2)  # not 1, the shortest by 0.01 cells
    text = SearchResult(runs, 0, 2, (39, 39)).summary()
    assert "3 settings are equally smooth" in text
    assert "beta 1 (fixed)" in text and "as smooth" in text and "0.2 nats" in text
    runs[3].edge = 40.0  # a clearly shorter map wins over a better reconstruction
    assert choose(runs) == (3, 2)
    assert "5 % shorter" in SearchResult(runs, 3, 2, (39, 39)).summary()


@pytest.fixture(scope="module")
def grid_patches_small():
    from napari_ivae.core.patches.cutting import grid_patches
    from napari_ivae.core.synthetic.lattice import make_lattice

    lattice = make_lattice((72, 72), spacing=12.0, domains=2, seed=0)
    patchset = grid_patches(lattice.image, 16, 8, normalize="global")
    return patchset.patches, patchset.grid_shape


def test_search_on_a_tiny_grid_is_deterministic_and_keeps_the_chosen_model(grid_patches_small):
    patches, grid_shape = grid_patches_small
    model_config = ModelConfig("shift-vae", patch_shape=patches.shape[1:], hidden=(16,))
    config = TrainConfig.defaults_for("shift-vae", epochs=1, batch_size=32, beta_ramp_epochs=1)
    seen = []
    kwargs = dict(
        beta_starts=(0.1, 1.0),
        beta_ends=(1.0, 4.0),
        model_config=model_config,
        train_config=config,
        keep_maps=2,
    )
    two = search_beta(
        patches,
        grid_shape,
        workers=2,
        callback=lambda done, total, run: seen.append((done, total)),
        **kwargs,
    )
    one = search_beta(patches, grid_shape, workers=1, **kwargs)
    assert sorted(seen) == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [(r.beta_start, r.beta_end) for r in two.runs] == [
        (0.1, 1.0),
        (0.1, 4.0),
        (1.0, 1.0),
        (1.0, 4.0),
    ]
    assert [r.edge for r in two.runs] == [r.edge for r in one.runs]  # same seed, same runs
    assert two.best == one.best and two.runs[two.best].fixed == (two.best == two.best_fixed)
    alive = [r.edge for r in two.runs if not r.collapsed]
    assert two.runs[two.best].edge <= min(alive) + EDGE_RESOLUTION
    assert two.best_fixed == 2  # the only fixed beta (1 -> 1)
    assert two.best in two.maps and len(two.maps) == min(2, len(alive))
    assert two.maps[two.best].shape == (model_config.latent_dim, *grid_shape)
    from napari_ivae.core.models.inference import encode

    z = encode(two.model, patches).z_mean[:, two.runs[two.best].map_index]
    np.testing.assert_allclose(
        z.reshape(grid_shape), two.maps[two.best][two.runs[two.best].map_index], atol=1e-5
    )


def test_search_refuses_bad_settings(grid_patches_small):
    patches, grid_shape = grid_patches_small
    with pytest.raises(InputError, match="whole grids"):
        search_beta(patches[:-1], grid_shape)
    with pytest.raises(InputError, match="beta_ends"):
        search_beta(patches, grid_shape, beta_ends=())
    with pytest.raises(InputError, match="smoothness"):
        search_beta(patches, grid_shape, smoothness=(-1.0,))


def test_search_abort_kills_the_running_trainings(grid_patches_small):
    import multiprocessing
    import threading
    import time

    from napari_ivae.core.analysis.search import SearchAborted

    patches, grid_shape = grid_patches_small
    config = TrainConfig.defaults_for("shift-vae", epochs=100000, batch_size=32)
    before = set(multiprocessing.active_children())  # e.g. other tests' pools, still ending
    abort = threading.Event()
    timer = threading.Timer(2.0, abort.set)
    timer.start()
    started = time.perf_counter()
    with pytest.raises(SearchAborted):
        search_beta(
            patches,
            grid_shape,
            beta_starts=(1.0,),
            beta_ends=(1.0, 2.0),
            workers=2,
            train_config=config,
            abort_event=abort,
            mp_context="spawn",
        )
    assert time.perf_counter() - started < 120  # 100 000 epochs were not waited for
    assert set(multiprocessing.active_children()) <= before  # the search's own all ended
