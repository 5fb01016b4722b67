"""Chunked atom detection (a halo around each chunk, whole-frame measures once) gives the
in-memory detector's points; lazy frames and stacks go through it without being read whole."""

from pathlib import Path

import numpy as np
import pytest
from _counting import Counting
from _crystal_data import weak_perovskite

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.chunked import detect_atoms_chunked
from napari_ivae.core.detection.streaming import detect_lazy, detect_stream
from napari_ivae.core.synthetic.lattice import make_lattice

da = pytest.importorskip("dask.array")
SHARED = Path(__file__).parents[2] / ".." / "shared" / "data"


def _assert_same_points(a, b, atol=1e-6):
    assert len(a) == len(b) > 0
    np.testing.assert_allclose(b.coords, a.coords, rtol=0, atol=atol)
    for name in ("intensity", "prominence", "snr"):
        np.testing.assert_allclose(b.properties[name], a.properties[name], rtol=1e-6)


def test_a_2048_lattice_in_16_chunks_gives_the_in_memory_points():
    image = make_lattice((2048, 2048), spacing=12.0, noise=0.1, seed=3).image.astype(np.float32)
    memory = detect_atoms(image)
    chunked = detect_atoms_chunked(image, chunk=512, scheduler="sync")
    assert chunked.params["chunked"]["chunks"] == 16
    assert chunked.params["chunked"]["sample_is_frame"]
    _assert_same_points(memory, chunked)
    assert chunked.params["spacing"] == memory.params["spacing"]


def test_a_particle_on_amorphous_support_keeps_its_crystal_region_and_points():
    image = make_lattice(
        (2048, 2048), spacing=12.0, noise=0.1, seed=4, particle_radius=700, amorphous=0.5
    ).image.astype(np.float32)
    memory = detect_atoms(image)
    chunked = detect_atoms_chunked(image, chunk=512, scheduler="threads")
    assert memory.params["counts"]["crystal_region"]["found"]
    assert chunked.params["counts"]["outside_crystal"] == memory.params["counts"]["outside_crystal"]
    _assert_same_points(memory, chunked)


@pytest.mark.parametrize("invert", [None, True])
def test_dark_atoms_are_flipped_over_the_frame_range_in_every_chunk(invert):
    bright = make_lattice((640, 640), spacing=10.0, noise=0.1, seed=5).image.astype(np.float32)
    dark = bright.max() + bright.min() - bright
    memory = detect_atoms(dark, invert=invert)
    chunked = detect_atoms_chunked(dark, chunk=200, invert=invert, scheduler="sync")
    assert memory.params["invert"] and chunked.params["invert"]
    _assert_same_points(memory, chunked)


def test_an_exclusion_mask_is_cut_per_chunk():
    image = make_lattice((600, 600), spacing=10.0, noise=0.1, seed=6).image.astype(np.float32)
    exclude = np.zeros(image.shape, bool)
    exclude[100:300, 250:500] = True
    memory = detect_atoms(image, exclude=exclude)
    chunked = detect_atoms_chunked(image, chunk=150, exclude=exclude, scheduler="sync")
    _assert_same_points(memory, chunked)
    rows, cols = chunked.coords[:, 1], chunked.coords[:, 2]
    assert not np.any((rows > 102) & (rows < 297) & (cols > 252) & (cols < 497))


def test_a_dask_frame_is_detected_chunk_by_chunk_without_reading_it_whole():
    image = make_lattice((768, 768), spacing=10.0, noise=0.1, seed=7).image.astype(np.float32)
    counting = Counting(image)
    lazy = da.from_array(counting, chunks=(256, 256))
    found = detect_lazy(lazy, "atoms", chunk=256, scheduler="sync")
    assert found.params["chunked"]["chunks"] == 9
    assert counting.largest < image.size  # the sample is the frame here, read once
    _assert_same_points(detect_atoms(image), found)
    routed = detect_atoms(lazy)  # the in-memory entry point hands a dask image over
    _assert_same_points(detect_atoms(image), routed)


def test_a_frame_larger_than_the_sample_is_measured_on_its_centre():
    image = make_lattice((1024, 1024), spacing=12.0, noise=0.1, seed=8).image.astype(np.float32)
    memory = detect_atoms(image)
    chunked = detect_atoms_chunked(image, chunk=256, sample_side=512, scheduler="sync")
    assert not chunked.params["chunked"]["sample_is_frame"]
    assert chunked.params["chunked"]["sample"] == [256, 768, 256, 768]
    assert abs(chunked.params["spacing"] - memory.params["spacing"]) < 0.05
    assert abs(len(chunked) - len(memory)) <= 0.01 * len(memory)
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(memory.coords[:, 1:]).query(chunked.coords[:, 1:])
    assert np.median(distance) < 0.02


def test_a_stack_of_large_frames_is_detected_frame_by_frame_in_chunks():
    stack = np.stack(
        [
            make_lattice((512, 512), spacing=10.0, noise=0.1, rotation=9.0 * i, seed=i).image
            for i in range(6)
        ]
    ).astype(np.float32)
    memory = detect_atoms(stack, frame_axis=0)
    streamed = detect_stream(stack, "atoms", chunk=200, scheduler="threads")
    _assert_same_points(memory, streamed)
    lazy = detect_atoms(da.from_array(stack, chunks=(1, 256, 256)))
    _assert_same_points(memory, lazy)


def _assert_same_sites_stage(memory, other):
    """The same points, and the weak sub-lattice judged at its sites alike (the count added,
    the sites' cut), said the same way."""
    _assert_same_points(memory, other)
    for key in ("sublattice_added", "sublattice_cut", "candidates", "below_threshold"):
        assert other.params["counts"][key] == memory.params["counts"][key], key
    assert memory.params["counts"]["sublattice_added"] > 50
    note = memory.params["sublattice"]
    assert other.params["sublattice"] == note
    assert note[1:] in other.message  # capitalised when it starts the message
    assert other.quality["measures"]["sublattice"] == note


@pytest.mark.parametrize("dose", [30, 8])
def test_a_weak_sub_lattice_is_judged_at_its_sites_chunk_by_chunk(dose):
    """Before, the chunks got the motif's spacing but not the sites stage: 798 of 1103
    points at dose 30, 586 of 1053 at dose 8."""
    image = weak_perovskite(384, dose).image.astype(np.float32)
    memory = detect_atoms(image)
    chunked = detect_atoms_chunked(image, chunk=128, scheduler="sync")
    assert chunked.params["chunked"]["chunks"] == 9
    _assert_same_sites_stage(memory, chunked)


def test_a_weak_sub_lattice_stack_of_large_frames_in_chunks_and_lazily():
    stack = np.stack(
        [
            weak_perovskite(256, 8, seed=i, rotation=27 + 5 * i).image.astype(np.float32)
            for i in range(3)
        ]
    )
    memory = detect_atoms(stack, frame_axis=0)
    streamed = detect_stream(stack, "atoms", chunk=100, scheduler="threads")
    _assert_same_points(memory, streamed)
    assert streamed.params["sublattice"] == memory.params["sublattice"]
    assert streamed.message.count("sub-lattice") == 1  # said once for the stack
    lazy = detect_atoms(da.from_array(stack, chunks=(1, 128, 128)), frame_axis=0)
    _assert_same_points(memory, lazy)
    assert lazy.quality["measures"]["sublattice"] == memory.params["sublattice"]


@pytest.mark.shared_data
def test_dysco3_weak_sc_columns_chunk_by_chunk_if_available():
    """DyScO3 (AtomSegNet test image): the Sc columns from the unit cell's average, 820
    points in memory (704 chunked before)."""
    path = SHARED / "atoms" / "stem_atomsegnet_testimg" / "10_dso_8nm_none_none.npy"
    if not path.exists():
        pytest.skip("../shared/data not available")
    image = np.load(path).astype(np.float32)
    memory = detect_atoms(image)
    chunked = detect_atoms_chunked(image, chunk=384, scheduler="threads")
    _assert_same_sites_stage(memory, chunked)


def test_chunked_detection_of_pure_noise_keeps_no_atom_as_in_memory():
    """A frame of shot noise read whole by the chunked path (its sample) is judged against its
    own shuffled pixels as in memory: no atom (it kept thousands, chunk by chunk)."""
    frame = np.random.default_rng(5).poisson(2.0, (600, 600)).astype(np.float32)
    found = detect_atoms_chunked(frame, chunk=256)
    assert len(found.coords) == 0
    assert "stands out from the noise" in found.message


def test_a_noise_frame_larger_than_its_sample_keeps_no_atom():
    """A frame larger than the chunked path's sample is judged against the sample's shuffled
    pixels too (it kept thousands of noise peaks: only a frame read whole was judged)."""
    frame = np.random.default_rng(6).poisson(2.0, (600, 600)).astype(np.float32)
    found = detect_atoms_chunked(frame, chunk=256, sample_side=300, scheduler="sync")
    assert not found.params["chunked"]["sample_is_frame"]
    assert len(found.coords) == 0
    assert "stands out from the noise" in found.message


def test_a_lattice_larger_than_its_sample_keeps_its_atoms():
    """The sample's null does not cost a lattice its atoms: a frame larger than the sample
    gives the points of the same frame read whole."""
    frame = make_lattice((600, 600), spacing=10.0, noise=0.3, seed=7).image.astype(np.float32)
    whole = detect_atoms_chunked(frame, chunk=256, scheduler="sync")
    sampled = detect_atoms_chunked(frame, chunk=256, sample_side=300, scheduler="sync")
    assert len(whole.coords) > 1000
    assert abs(len(sampled.coords) - len(whole.coords)) <= 0.01 * len(whole.coords)
