"""Detection frame by frame on memory-mapped stacks gives the in-memory path's points."""

import numpy as np
import pytest
import tifffile
from _crystal_data import weak_perovskite

from napari_ivae.core.detection.atom_held_sublattice import held_sublattice
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


def _weak_perovskite_stack(tmp_path, dose):
    """Three frames with B columns at 0.25 of A: the first frame's unit cell average finds
    them, and every frame judges them at its sites (core/detection/motif)."""
    frames = np.stack(
        [weak_perovskite(256, dose, seed=i, rotation=27 + 5 * i).image for i in range(3)]
    ).astype(np.float32)
    np.save(tmp_path / "stack.npy", frames)
    return frames


@pytest.mark.parametrize("dose", [30, 8])
def test_a_weak_sub_lattice_is_held_from_the_first_frame_for_the_others(tmp_path, dose):
    """Before, later frames got the first frame's spacing and sigma only, so their weak
    columns met the frame's cut alone: 991 of 1389 points at dose 8."""
    frames = _weak_perovskite_stack(tmp_path, dose)
    in_memory = detect_atoms(frames, frame_axis=0)
    streamed = detect_stream(read_image(tmp_path / "stack.npy", mmap=True), "atoms")
    np.testing.assert_allclose(streamed.coords, in_memory.coords, atol=1e-6)
    np.testing.assert_allclose(
        streamed.properties["prominence"], in_memory.properties["prominence"], rtol=1e-5, atol=1e-6
    )
    note = in_memory.params["sublattice"]
    assert streamed.params["sublattice"] == note
    assert streamed.message.count(note[1:]) == 1  # once for the stack, not once per frame
    assert streamed.quality["measures"]["sublattice"] == note
    added = [counts["sublattice_added"] for counts in in_memory.params["counts"]]
    assert min(added) > 50  # every frame, not only the first, judged at the sites


def test_a_held_sub_lattice_gives_a_frame_the_stacks_points(tmp_path):
    """``detect_atoms(sublattice=...)`` with the first frame's spacing and sigma: a later
    frame alone gives what it gives in the stack; the held entries are checked."""
    frames = _weak_perovskite_stack(tmp_path, 8)
    in_memory = detect_atoms(frames, frame_axis=0)
    held = {key: in_memory.params[key] for key in ("spacing", "sigma", "invert")}
    sublattice = held_sublattice(in_memory.params)
    assert set(sublattice) == {
        "sublattice_vectors",
        "sublattice_empty",
        "sublattice_contrast",
        "sublattice",
    }
    alone = detect_atoms(frames[2], sublattice=sublattice, **held)
    in_stack = in_memory.coords[in_memory.coords[:, 0] == 2]
    np.testing.assert_allclose(alone.coords[:, 1:], in_stack[:, 1:], atol=1e-9)
    assert alone.params["counts"] == in_memory.params["counts"][2]
    assert len(detect_atoms(frames[2], **held)) < 0.8 * len(alone)  # without: B at the cut
    assert held_sublattice(detect_atoms(frames[2][:96, :96], **held).params) is None
    with pytest.raises(InputError, match="sublattice"):
        detect_atoms(frames[2], sublattice={"sublattice_contrast": 0.2}, **held)
    with pytest.raises(InputError, match="sublattice"):
        detect_atoms(frames[2], sublattice={**sublattice, "sublattice_vectors": [1.0, 2.0]})
