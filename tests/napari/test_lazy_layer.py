"""A lazy (dask-backed, multiscale) image layer larger than the chunked detector's sample: the
Detect widget finds the same atoms as on the image in memory and never reads it whole."""

from __future__ import annotations

import numpy as np
from napari_helpers import is_error, open_widget

SIDE = 1400  # above the sample side set below, so no single read may cover the whole frame
SAMPLE_SIDE = 1024  # the chunked detector's central sample (4096 by default)


def test_detect_on_a_lazy_multiscale_layer_reads_it_part_by_part(viewer, qtbot, monkeypatch):
    import dask.array as da

    from napari_ivae.core.detection import chunked
    from napari_ivae.core.detection.atoms import detect_atoms
    from napari_ivae.core.synthetic.lazy import lazy_lattice

    # the defaults scaled down (a 4400² frame took 15 s): chunks of 512 px, a 1024² sample
    monkeypatch.setattr(chunked, "CHUNK_SIDE", 512)
    monkeypatch.setattr(chunked, "SAMPLE_SIDE", SAMPLE_SIDE)  # the widget's spacing estimate
    monkeypatch.setitem(chunked.detect_atoms_chunked.__kwdefaults__, "sample_side", SAMPLE_SIDE)
    pyramid = lazy_lattice(SIDE, spacing=20.0, chunk=512, levels=3, seed=2)
    layer = viewer.add_image(pyramid, multiscale=True, name="big")
    reads: list[int] = []
    original = da.Array.__array__
    full_name = pyramid[0].name

    def counted(self, *args, **kwargs):
        if full_name in self.dask.layers:  # reads of the full-resolution level only
            reads.append(int(self.size))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(da.Array, "__array__", counted)
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    assert abs(detect.estimate_spacing() - 20.0) < 0.5
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=240000)
    assert not is_error(detect.status), detect.status.value
    found = np.asarray(viewer.layers["big atoms [ivae]"].data)
    assert reads and max(reads) < SIDE * SIDE  # never the whole frame at once

    monkeypatch.setattr(da.Array, "__array__", original)
    expected = detect_atoms(np.asarray(pyramid[0])).coords[:, 1:]
    assert found.shape == expected.shape
    np.testing.assert_allclose(np.sort(found, axis=0), np.sort(expected, axis=0), atol=1e-6)


def test_patches_and_inverted_detection_on_a_small_lazy_layer(viewer, qtbot):
    from napari_ivae.core.patches.cutting import extract_patches
    from napari_ivae.core.synthetic.lazy import lazy_lattice

    image = lazy_lattice(320, spacing=16.0, chunk=128, seed=3)
    layer = viewer.add_image(image.max() + image.min() - image, name="dark")  # dark columns
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.invert.value = True
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    assert not is_error(detect.status), detect.status.value
    points = viewer.layers["dark atoms [ivae]"]
    assert 300 <= len(points.data) <= 400  # 20 x 20 sites less the border

    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = layer
    patches.points.value = points
    patchset = patches.extract()
    assert patchset is not None and len(patchset) > 250  # border patches are dropped
    in_memory = np.asarray(layer.data)
    expected = extract_patches(
        in_memory,
        np.asarray(points.data),
        patchset.patches.shape[1],
        normalize=patches.normalize.value,
    )
    np.testing.assert_allclose(patchset.centres, expected.centres)
    np.testing.assert_allclose(patchset.patches, expected.patches, atol=1e-5)


def test_patches_train_and_results_on_a_lazy_layer_stream_from_it(viewer, qtbot, monkeypatch):
    """Extract patches keeps a lazy layer's patches uncut (a PatchSource), Train streams its
    batches from tiles and Results encodes chunk by chunk: no read of the whole frame, and
    the latents the in-memory patches give with the same model."""
    import dask.array as da

    from napari_ivae._widgets._session import get_session
    from napari_ivae.core.models.inference import encode
    from napari_ivae.core.patches import source as patch_source
    from napari_ivae.core.patches.cutting import extract_patches
    from napari_ivae.core.synthetic.lazy import lazy_lattice

    side, spacing = 1536, 24.0
    pyramid = lazy_lattice(side, spacing=spacing, chunk=256, levels=2, seed=4)
    layer = viewer.add_image(pyramid, multiscale=True, name="lazy")
    sites = np.arange(spacing, side - spacing, 2 * spacing)  # every other site: 31 x 31 patches
    rows, cols = np.meshgrid(sites, sites, indexing="ij")
    points = viewer.add_points(np.column_stack([rows.ravel(), cols.ravel()]), name="sites")
    # a 16k^2 frame (1 GiB) is over a quarter of the default cache; this one is made so too
    monkeypatch.setattr(patch_source, "CACHE_BYTES", 16 << 20)
    monkeypatch.setattr(patch_source, "TILE_SIDE", 512)
    monkeypatch.setattr(patch_source, "CHUNK_PIXELS", 150 * 24 * 24)  # encoded in 7 chunks
    reads: list[int] = []
    original = da.Array.__array__
    full_name = pyramid[0].name

    def counted(self, *args, **kwargs):
        if full_name in self.dask.layers:
            reads.append(int(self.size))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(da.Array, "__array__", counted)
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = layer
    patches.points.value = points
    patches.size.value = 24
    patches.normalize.value = "patch"
    patchset = patches.extract()
    assert patchset is not None and isinstance(patchset.patches, patch_source.SourcePatches)
    assert reads == []  # nothing cut yet

    train = open_widget(viewer, "Train")
    open_widget(viewer, "Results")
    train.kind.value, train.epochs.value, train.batch_size.value = "rvae", 1, 64
    # one epoch (16 steps): what is tested is where the batches come from, not the model
    train.latent_dim.value, train.seed.value, train.min_steps.value = 2, 3, 0
    assert train.start() is not None
    qtbot.waitUntil(lambda: not train.busy, timeout=240000)
    assert not is_error(train.status), train.status.value
    assert reads and max(reads) < side * side / 4  # tiles and windows, never the frame
    features = points.features
    assert "ivae_z1" in features

    monkeypatch.setattr(da.Array, "__array__", original)
    bundle = get_session(viewer).bundle
    in_memory = extract_patches(
        np.asarray(pyramid[0]), np.asarray(points.data), 24, normalize="patch"
    )
    np.testing.assert_array_equal(patchset.indices, in_memory.indices)
    expected = encode(bundle.model, in_memory.patches)
    got = np.column_stack([features["ivae_z1"], features["ivae_z2"]])[patchset.indices]
    np.testing.assert_allclose(got, expected.z_mean, rtol=1e-4, atol=1e-4)
    turn = features["ivae_angle"].to_numpy()[patchset.indices] - expected.angle
    np.testing.assert_allclose(np.angle(np.exp(1j * turn)), 0.0, atol=1e-4)


def test_a_lazy_layer_with_missing_pixels_gives_finite_patches_and_says_so(viewer, qtbot):
    """A dask-backed image with NaN pixels: the in-memory path fills them with the frame's
    median and says so; the lazy path cut patches with NaN in them, which failed only at
    Train ("7 of 187 patches contain NaN"). Now it fills them as read, and the status says so."""
    import dask.array as da

    from napari_ivae.core.synthetic.lattice import make_lattice

    image = make_lattice((128, 128), spacing=8.0, seed=0).image.astype(np.float32)
    image[10:30, 10:30] = np.nan
    layer = viewer.add_image(da.from_array(image, chunks=(64, 64)), name="lazy")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    detect.image.value = layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    patches.image.value, patches.points.value = layer, viewer.layers["lazy atoms [ivae]"]
    patchset = patches.extract()
    assert patchset is not None, patches.status.value
    assert np.isfinite(np.asarray(patchset.patches)).all()
    assert "400 NaN/inf pixels were replaced by the median" in patches.status.value
