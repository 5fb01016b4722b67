"""Training from a PatchSource: the same run as on the materialised patches when the source
fits, and batches read through a bounded cache of tiles when it does not."""

import numpy as np
import pytest
import torch
from _counting import Counting

from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.training import _TileBatches, fit
from napari_ivae.core.patches import source as lazy
from napari_ivae.core.patches.cutting import extract_patches, grid_patches
from napari_ivae.core.patches.source import PatchReader, PatchSource
from napari_ivae.core.synthetic.lattice import make_lattice

FAST = dict(batch_size=32, lr=3e-3, pixels_per_step=64, device="cpu")


def _lattice(frames=2, side=96):
    return np.stack(
        [
            make_lattice((side, side), spacing=8.0, noise=0.05, rotation=7.0 * i, seed=i).image
            for i in range(frames)
        ]
    ).astype(np.float32)


def _coords(image, n=300, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.integers(0, len(image), n),
            rng.uniform(8, image.shape[1] - 8, n),
            rng.uniform(8, image.shape[2] - 8, n),
        ]
    )


def _same_run(a, b):
    assert [h["loss"] for h in a.history] == pytest.approx(
        [h["loss"] for h in b.history], rel=1e-6, abs=1e-6
    )
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("kind", ["rvae", "vae"])
def test_training_from_a_source_equals_training_on_the_patches(kind):
    image = _lattice()
    coords = _coords(image)
    patches = extract_patches(image, coords, 16, normalize="global").patches
    config = ModelConfig(kind, (16, 16), hidden=(32,))
    runs = []
    for data in (patches, PatchSource(Counting(image), coords, 16, normalize="global")):
        torch.manual_seed(123)  # the seed must come from the config alone
        runs.append(fit(build_model(config), data, config=TrainConfig(epochs=3, seed=5, **FAST)))
    _same_run(*runs)
    assert len(runs[0].history) == 3


def test_joint_rvae_from_a_source_finds_its_classes_through_the_reader():
    image = _lattice()
    coords = _coords(image, n=120)
    patches = extract_patches(image, coords, 16, normalize="global").patches
    config = ModelConfig("jrvae", (16, 16), hidden=(32,), n_classes=2)
    train = TrainConfig.defaults_for("jrvae", epochs=2, min_steps=0, seed=1, **FAST)
    runs = [
        fit(build_model(config), data, config=train)  # k-means start after 1 epoch
        for data in (patches, PatchSource(image, coords, 16, normalize="global"))
    ]
    assert bool(runs[1].model.classes_ready)
    _same_run(*runs)


def test_grid_source_with_smoothness_equals_the_grid_patches():
    image = _lattice(frames=1, side=80)
    expected = grid_patches(image, 16, 4)
    source = PatchSource.grid(image, 16, 4)
    assert source.grid_shape == expected.grid_shape
    config = ModelConfig("shift-vae", (16, 16), hidden=(32,))
    train = TrainConfig.defaults_for(
        "shift-vae", epochs=2, seed=1, smoothness=0.01, psi_slack=1.0, **FAST
    )
    runs = [
        fit(build_model(config), data, config=train, grid_shape=expected.grid_shape)
        for data in (expected.patches, source)
    ]
    _same_run(*runs)


def test_a_reader_with_a_small_cache_cuts_the_same_patches_from_tiles(monkeypatch):
    image = _lattice(frames=3, side=150)
    coords = _coords(image, n=500, seed=2)
    counting = Counting(image)
    source = PatchSource(counting, coords, 12, normalize="patch")
    monkeypatch.setattr(lazy, "TILE_SIDE", 40)
    # a frame (90 kB) is over a quarter of the cache: frames are read in 40 px tiles
    reader = PatchReader(source, cache_bytes=200_000)
    assert reader.n_tiles == 3 * 4 * 4 and not reader.fits
    picked = np.random.default_rng(3).permutation(len(source))[:200]
    expected = extract_patches(image, coords, 12, normalize="patch").patches
    np.testing.assert_array_equal(reader.read(picked), expected[picked])
    assert max(counting.reads) <= (40 + 2 * (2 * 12 + 8)) ** 2 < image[0].size
    assert reader.cached.held <= 200_000
    few = np.flatnonzero(np.isin(reader.tiles, [5, 6, 20]))  # 3 tiles (43 kB each) fit
    reader.read(few)
    before = reader.cached.tiles_read
    np.testing.assert_array_equal(reader.read(few[::-1]), expected[few[::-1]])
    assert reader.cached.tiles_read == before  # served from the cache


def test_a_source_larger_than_the_cache_is_visited_tile_group_by_tile_group(monkeypatch):
    image = _lattice(frames=8, side=64)
    coords = _coords(image, n=600, seed=4)
    counting = Counting(image)
    source = PatchSource(counting, coords, 16, normalize="global")
    monkeypatch.setattr(lazy, "CACHE_BYTES", 4 * image[0].nbytes + 1)  # 4 frames
    reader = PatchReader(source)
    assert not reader.fits and reader.n_tiles == 8
    batches = _TileBatches(
        torch.full((len(source),), -1), 32, torch.Generator().manual_seed(0), reader.tiles, 2
    )
    order = batches._order()
    assert sorted(order.tolist()) == list(range(len(source)))  # every patch once an epoch
    tiles = reader.tiles[order.numpy()]
    first = sorted(range(8), key=lambda t: np.flatnonzero(tiles == t)[0])
    spans = [np.flatnonzero(np.isin(tiles, first[i : i + 2])) for i in range(0, 8, 2)]
    assert all(a.max() < b.min() for a, b in zip(spans, spans[1:]))  # two tiles at a time
    assert len(set(tiles[: len(spans[0])].tolist())) == 2
    counting.reads.clear()  # (the source read every frame for its value range)
    result = fit(
        build_model(ModelConfig("rvae", (16, 16), hidden=(32,))),
        source,
        config=TrainConfig(epochs=2, seed=0, **FAST),
    )
    assert len(result.history) == 2 and np.isfinite(result.history[-1]["loss"])
    whole_frames = sum(size == image[0].size for size in counting.reads)
    # the sample reads each frame once, then each epoch each frame once
    assert whole_frames <= 8 + 2 * 8 + 2


def test_cli_train_from_a_zarr_image_equals_training_on_its_cut_patches(tmp_path):
    zarr = pytest.importorskip("zarr")
    from napari_ivae.cli import main
    from napari_ivae.core.models.persistence import load_model

    image = _lattice(frames=2, side=80)
    stack = zarr.create_array(
        str(tmp_path / "s.zarr"), shape=image.shape, dtype="float32", chunks=(1, 40, 40)
    )
    stack[:] = image
    coords = _coords(image, n=150, seed=6)
    np.savetxt(tmp_path / "p.csv", coords, delimiter=",", header="frame,row,col", comments="")
    tiny = [
        "--model",
        "rvae",
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--batch-size",
        "16",
        "--seed",
        "2",
        "--quiet",
    ]
    assert (
        main(
            [
                "patches",
                str(tmp_path / "s.zarr"),
                "--frame-axis",  # 2 planes: frames or colours? (as detect asks)
                "0",
                "--points",
                str(tmp_path / "p.csv"),
                "--size",
                "16",
                "--normalize",
                "global",
                "--out",
                str(tmp_path / "p.npz"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "--patches",
                str(tmp_path / "p.npz"),
                "--out",
                str(tmp_path / "a.ivae.pt"),
                *tiny,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "--image",
                str(tmp_path / "s.zarr"),
                "--frame-axis",
                "0",
                "--points",
                str(tmp_path / "p.csv"),
                "--size",
                "16",
                "--out",
                str(tmp_path / "b.ivae.pt"),
                *tiny,
            ]
        )
        == 0
    )
    a, b = (load_model(tmp_path / name) for name in ("a.ivae.pt", "b.ivae.pt"))
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-6, err_msg=name)
    assert b.metadata["patch_params"]["source"] == "points"
    with pytest.raises(SystemExit):  # --patches or --image, not both
        main(
            [
                "train",
                "--patches",
                "x.npz",
                "--image",
                "y.zarr",
                "--out",
                "m.ivae.pt",
                "--model",
                "rvae",
            ]
        )


def test_class_templates_start_from_the_labeled_patches_of_a_source_larger_than_the_sample(
    monkeypatch,
):
    image = _lattice()
    coords = _coords(image, n=200, seed=8)
    monkeypatch.setattr(lazy, "SAMPLE_PATCHES", 64)  # the sample holds a third of them
    source = PatchSource(image, coords, 16, normalize="global")
    labels = np.full(len(source), -1)
    labels[150:160], labels[190:200] = 0, 1  # all outside the first 64
    model = build_model(
        ModelConfig("ss-rvae", (16, 16), hidden=(32,), n_classes=2, class_template=True)
    )
    seen = {}
    start = model.fit_class_templates

    def spy(patches, labels):
        seen["patches"], seen["labels"] = patches, labels
        start(patches, labels)

    monkeypatch.setattr(model, "fit_class_templates", spy)
    result = fit(
        model,
        source,
        labels,
        config=TrainConfig.defaults_for("ss-rvae", epochs=1, min_steps=0, seed=0, **FAST),
    )
    assert len(result.history) == 1 and np.isfinite(result.history[0]["loss"])
    # the templates see every patch the labels refer to, not the normalisation sample
    assert len(seen["patches"]) == len(seen["labels"]) == len(source)
    in_memory = extract_patches(image, coords, 16, normalize="global").patches
    np.testing.assert_allclose(np.asarray(seen["patches"][150:160]), in_memory[150:160], atol=1e-6)
    np.testing.assert_array_equal(seen["labels"], labels)


def test_train_from_a_colour_picture_at_detected_particles(tmp_path):
    """`train --image` reads a colour picture as its luminance (as detect and patches do) and
    records that the points are particles, for `batch`."""
    from PIL import Image

    from napari_ivae.cli import main
    from napari_ivae.core.models.persistence import load_model

    rng = np.random.default_rng(0)
    rows, cols = np.indices((96, 96))
    grey = rng.normal(40, 4, (96, 96))
    for r in range(14, 90, 22):
        for c in range(14, 90, 22):
            grey += 150 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 18)
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)])).save(tmp_path / "p.png")
    csv = tmp_path / "p.csv"
    assert main(["detect", str(tmp_path / "p.png"), "--mode", "particles", "--out", str(csv)]) == 0
    model = tmp_path / "m.ivae.pt"
    args = ["train", "--model", "rvae", "--image", str(tmp_path / "p.png"), "--points", str(csv)]
    assert main([*args, "--size", "16", "--out", str(model), "--epochs", "1", "--quiet"]) == 0
    assert load_model(model).metadata["patch_params"]["points_mode"] == "particles"
