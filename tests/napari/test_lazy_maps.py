"""Results on a lazy (multiscale) layer: the maps are stored tile by tile and shown as
multiscale dask layers, equal to the maps painted in memory, and the image is never read whole."""

from __future__ import annotations

import numpy as np
from napari_helpers import open_widget


def test_results_on_a_lazy_layer_show_stored_multiscale_maps(viewer, monkeypatch):
    import dask.array as da

    from napari_ivae._widgets import _writer
    from napari_ivae._widgets._session import get_session
    from napari_ivae._widgets.train import trained_bundle
    from napari_ivae.core.analysis import stored_maps
    from napari_ivae.core.models import build_model
    from napari_ivae.core.models.training import TrainResult
    from napari_ivae.core.patches import source as patch_source
    from napari_ivae.core.patches.cutting import extract_patches
    from napari_ivae.core.synthetic.lazy import lazy_lattice

    side, spacing = 1024, 24.0
    pyramid = lazy_lattice(side, spacing=spacing, chunk=256, levels=2, seed=5)
    layer = viewer.add_image(pyramid, multiscale=True, name="lazy")
    sites = np.arange(spacing, side - spacing, spacing)
    rows, cols = np.meshgrid(sites, sites, indexing="ij")
    points = viewer.add_points(np.column_stack([rows.ravel(), cols.ravel()]), name="sites")
    monkeypatch.setattr(stored_maps, "LEVEL_SIDE", 256)  # 1024 -> 512 -> 256: three levels
    monkeypatch.setattr(stored_maps, "MAP_TILE", 256)  # painted in 16 blocks
    # and, as for a 16k^2 frame with the defaults, encoded in chunks of windows
    monkeypatch.setattr(patch_source, "CHUNK_PIXELS", 300 * 24 * 24)
    reads: list[int] = []
    original = da.Array.__array__
    full_name = pyramid[0].name

    def counted(self, *args, **kwargs):
        if full_name in self.dask.layers:
            reads.append(int(self.size))
        return original(self, *args, **kwargs)

    def in_memory(*args, **kwargs):
        raise AssertionError("a lazy layer's map was painted in memory")

    monkeypatch.setattr(da.Array, "__array__", counted)
    monkeypatch.setattr(_writer, "value_map", in_memory)
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value, patches.points.value, patches.size.value = layer, points, 24
    patches.normalize.value = "patch"  # no pass over the image for its range
    patchset = patches.extract()
    session = get_session(viewer)
    train = open_widget(viewer, "Train")
    train.kind.value, train.latent_dim.value = "rvae", 2
    config, train_config = train.configs(patchset.patches.shape[1:])
    result = TrainResult(model=build_model(config), seed=0)
    bundle = trained_bundle(result, config, train_config, {})
    session.update(bundle=bundle, train_result=result)

    written = _writer.write_results(viewer, session)
    assert reads and max(reads) < side * side / 3  # windows of the frame, never all of it
    maps = {
        layer.metadata["napari_ivae"]["role"]: layer for layer in written if layer is not points
    }
    assert {"z1_map", "z2_map", "angle_map", "dx_map", "dy_map"} <= set(maps)
    for map_layer in maps.values():
        assert map_layer.multiscale and len(map_layer.data) == 3
        assert isinstance(map_layer.data[0], da.Array)
        assert map_layer.data[0].shape == (side, side)

    monkeypatch.setattr(da.Array, "__array__", original)
    monkeypatch.undo()  # the in-memory painter, for the reference maps
    cut = extract_patches(np.asarray(pyramid[0]), np.asarray(points.data), 24)
    cut.patches = patchset.patches  # the same model on the same patches: only the maps differ
    columns = session.columns
    for name, role in (("z1", "z1_map"), ("angle", "angle_map"), ("dx", "dx_map")):
        got = np.asarray(maps[role].data[0])
        expected = _writer.paint_maps({name: columns[name]}, cut)[name]
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.asarray(maps[role].data[2]), expected[::4, ::4])
