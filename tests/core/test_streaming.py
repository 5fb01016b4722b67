"""Detection frame by frame on memory-mapped stacks gives the in-memory path's points."""

import numpy as np
import pytest
import tifffile

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.detection.streaming import detect_stream
from napari_ivae.core.errors import InputError
from napari_ivae.core.io.imageio import read_image
from napari_ivae.core.synthetic.lattice import make_lattice
from napari_ivae.core.synthetic.particles import make_particles


def _lattice_stack(tmp_path, dark=False):
    frames = np.stack(
        [
            make_lattice(
                (128, 128), spacing=10.0, noise=0.08, dose=40, rotation=5.0 * i, seed=i
            ).image
            for i in range(4)
        ]
    )
    if dark:
        frames = frames.max() + 0.2 - frames
    np.save(tmp_path / "stack.npy", frames.astype(np.float32))
    return frames


@pytest.mark.parametrize("dark", [False, True])
def test_atoms_streamed_from_a_memory_map_match_the_in_memory_path(tmp_path, dark):
    frames = _lattice_stack(tmp_path, dark)
    mapped = read_image(tmp_path / "stack.npy", mmap=True)
    assert isinstance(mapped, np.memmap)
    done = []
    streamed = detect_stream(mapped, "atoms", progress=lambda i, n: done.append((i, n)))
    in_memory = detect_atoms(frames, frame_axis=0)
    np.testing.assert_allclose(streamed.coords, in_memory.coords, atol=1e-6)
    np.testing.assert_allclose(
        streamed.properties["prominence"], in_memory.properties["prominence"], rtol=1e-5, atol=1e-6
    )
    assert list(streamed.properties.columns) == list(in_memory.properties.columns)
    assert list(streamed.properties.dtypes) == list(in_memory.properties.dtypes)
    np.testing.assert_array_equal(streamed.properties["frame"], in_memory.properties["frame"])
    assert streamed.params["spacing"] == in_memory.params["spacing"]
    assert streamed.params["invert"] == dark and streamed.params["streamed"]
    assert done == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_particles_streamed_with_labels_into_a_memory_mapped_file(tmp_path):
    frames = np.stack(
        [make_particles(128, count=12, radius=5, noise=0.05, seed=i).image for i in range(3)]
    ).astype(np.float32)
    tifffile.imwrite(tmp_path / "stack.tif", frames)
    mapped = read_image(tmp_path / "stack.tif", mmap=True)
    labels = np.lib.format.open_memmap(
        tmp_path / "labels.npy", mode="w+", dtype=np.int32, shape=frames.shape
    )
    streamed = detect_stream(mapped, "particles", labels_out=labels)
    in_memory = detect_particles(frames, frame_axis=0)
    np.testing.assert_allclose(streamed.coords, in_memory.coords, atol=1e-6)
    labels.flush()
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), in_memory.labels)


def test_stream_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(InputError, match="stack"):
        detect_stream(np.zeros((32, 32)), "atoms")
    with pytest.raises(InputError, match="mode"):
        detect_stream(np.zeros((2, 32, 32)), "cells")
    with pytest.raises(InputError, match="first axis"):
        detect_stream(np.zeros((2, 32, 32)), "atoms", frame_axis=2)
