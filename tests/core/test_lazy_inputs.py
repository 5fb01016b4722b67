"""Lazy inputs: a compressed multi-page TIFF and a dask array go through streamed detection
and the patch source with the in-memory path's points and patches."""

import numpy as np
import pytest
import tifffile

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.streaming import detect_stream
from napari_ivae.core.io.imageio import TiffStack, read_image
from napari_ivae.core.patches.cutting import extract_patches
from napari_ivae.core.patches.source import PatchSource
from napari_ivae.core.synthetic.lattice import make_lattice


@pytest.fixture(scope="module")
def frames():
    return np.stack(
        [
            make_lattice(
                (112, 112), spacing=9.0, noise=0.08, dose=40, rotation=4.0 * i, seed=i
            ).image
            for i in range(5)
        ]
    ).astype(np.float32)


def test_compressed_multipage_tiff_is_read_one_page_at_a_time(tmp_path, frames):
    tifffile.imwrite(tmp_path / "stack.tif", frames, compression="zlib", photometric="minisblack")
    lazy = read_image(tmp_path / "stack.tif", mmap=True)
    assert isinstance(lazy, TiffStack) and not isinstance(lazy, np.ndarray)
    assert lazy.shape == frames.shape and lazy.dtype == frames.dtype
    assert lazy.nbytes == frames.nbytes and lazy.ndim == 3
    np.testing.assert_array_equal(lazy[1], frames[1])
    np.testing.assert_array_equal(lazy[2, 5:9, 10:30], frames[2, 5:9, 10:30])
    np.testing.assert_array_equal(lazy[0:2], frames[0:2])
    np.testing.assert_array_equal(np.asarray(lazy), frames)
    assert isinstance(read_image(tmp_path / "stack.tif"), np.ndarray)  # without mmap: read

    streamed = detect_stream(lazy, "atoms")
    in_memory = detect_atoms(frames, frame_axis=0)
    np.testing.assert_allclose(streamed.coords, in_memory.coords, atol=1e-6)
    source = PatchSource(lazy, in_memory.coords, 12, normalize="global")
    expected = extract_patches(frames, in_memory.coords, 12, normalize="global")
    np.testing.assert_array_equal(source.read(np.arange(len(source))), expected.patches)


def test_single_page_and_uncompressed_tiffs_keep_their_readers(tmp_path, frames):
    tifffile.imwrite(tmp_path / "one.tif", frames[0], compression="zlib")
    tifffile.imwrite(tmp_path / "plain.tif", frames)
    assert isinstance(read_image(tmp_path / "one.tif", mmap=True), np.ndarray)
    assert isinstance(read_image(tmp_path / "plain.tif", mmap=True), np.memmap)


def test_dask_stack_streams_with_the_in_memory_points(frames):
    da = pytest.importorskip("dask.array")
    lazy = da.from_array(frames, chunks=(1, 56, 56))
    streamed = detect_stream(lazy, "atoms")
    in_memory = detect_atoms(frames, frame_axis=0)
    np.testing.assert_allclose(streamed.coords, in_memory.coords, atol=1e-6)


def test_a_tiff_of_separate_series_is_read_as_without_mmap(tmp_path, frames):
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tiff:
        for frame in frames:
            tiff.write(frame, compression="zlib", photometric="minisblack")
    plain = read_image(tmp_path / "pages.tif")
    lazy = read_image(tmp_path / "pages.tif", mmap=True)
    assert np.asarray(lazy).shape == plain.shape  # the same array either way
