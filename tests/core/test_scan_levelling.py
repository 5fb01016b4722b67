"""A scanning-probe topograph levelled before atom detection (issue 9,
benchmarks/stranger_blind.py's stm_staircase): line offsets, a tilted plane and step edges
many times the atoms' corrugation, taken out from the frame's own differences."""

import numpy as np

from napari_ivae.core.analysis.metrics import match_points
from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.scan_levelling import integrated, scan_levelled
from napari_ivae.core.synthetic.lattice import make_lattice

SPACING = 9.0


def staircase(seed=0, line=3.0):
    """A hexagonal lattice (corrugation 1) on four terraces with steps of 12, a plane tilt and
    line offsets of ``line`` (standard deviation, in corrugations); the heights in metres.
    Returns the image, the atoms and the pixels within 0.6 spacing of a step."""
    rng = np.random.default_rng(seed)
    lattice = make_lattice(
        (256, 256), spacing=SPACING, lattice="hexagonal", noise=0.08, rotation=17, seed=seed
    )
    rows, cols = np.mgrid[:256, :256].astype(float)
    across = cols + 5 * np.sin(2 * np.pi * rows / 180)  # wavy steps across the lines
    terrace = np.digitize(across, [64, 128, 192])
    height = lattice.image + 12.0 * terrace + 0.05 * rows - 0.08 * cols
    height += rng.normal(0, line, 256)[:, None]
    near_step = np.zeros((256, 256), bool)
    near_step[:, 1:] |= np.diff(terrace, axis=1) != 0
    from scipy import ndimage

    near_step = ndimage.distance_transform_edt(~near_step) < 0.6 * SPACING
    return (height * 2e-11).astype(np.float32), lattice.positions, near_step


def _f1(found, truth, ignore):
    """F1 of the found atoms against the truth, both outside ``ignore``."""

    def kept(points):
        at = np.clip(np.rint(points).astype(int), 0, 255)
        return points[~ignore[at[:, 0], at[:, 1]]]

    found, truth = kept(found), kept(truth)
    matched = match_points(found, truth, 0.35 * SPACING).true_positives
    return 2 * matched / (len(found) + len(truth))


def test_a_frame_comes_back_from_its_own_differences():
    frame = np.random.default_rng(1).normal(size=(40, 57))
    back = integrated(np.diff(frame, axis=1), np.diff(frame, axis=0))
    assert np.allclose(back, frame - frame.mean(), atol=1e-9)


def test_a_staircase_with_line_offsets_is_levelled_and_its_atoms_found():
    image, truth, near_step = staircase()
    levelled, found = scan_levelled(image)
    assert found is not None and found["offset_ratio"] > 10
    assert 0 < found["step_share"] < 0.05
    atoms = detect_atoms(image)
    assert atoms.params["scan_levelled"] is not None
    assert _f1(atoms.coords[:, 1:], truth, near_step) > 0.95  # was an InputError: spacing 1.9 px


def test_a_frame_without_line_offsets_is_left_as_it_came():
    # rows of atoms along the scan lines (rotation 0): the lines' medians follow the lattice
    lattice = make_lattice((256, 256), spacing=SPACING, lattice="square", atom_sigma=2.5, seed=3)
    frame = lattice.image
    same, found = scan_levelled(frame)
    assert found is None and same is frame
    assert detect_atoms(frame).params["scan_levelled"] is None


def test_a_staircase_with_aligned_lines_is_levelled_and_its_atoms_found():
    # no line offsets to find: only the step edges crossing the frame say it is a staircase
    image, truth, near_step = staircase(seed=1, line=0.0)
    levelled, found = scan_levelled(image)
    assert found is not None and found["terraces"] == 4
    atoms = detect_atoms(image)
    assert atoms.params["scan_levelled"] == found
    assert "4 terraces" in atoms.message
    assert _f1(atoms.coords[:, 1:], truth, near_step) > 0.95  # was 0.017


def _plateau(kind, noise):
    """A lattice raised far above noise alone beyond a straight or a curved edge crossing the
    frame (a crystal's edge over vacuum, a particle cut by the frame), or inside a disc."""
    lattice = make_lattice((256, 256), spacing=SPACING, lattice="hexagonal", dose=30, seed=1)
    image = lattice.image.astype(float)
    rows, cols = np.mgrid[:256, :256]
    region = {
        "edge": cols + 0.3 * rows > 140,
        "curved": np.hypot(rows + 200, cols - 128) < 330,
        "disc": np.hypot(rows - 128, cols - 140) < 80,
    }[kind]
    rng = np.random.default_rng(0)
    around = image.mean() + rng.normal(0, noise * image.std(), image.shape)
    return np.where(region, image + 8 * np.ptp(image), around).astype(np.float32)


def test_a_rim_with_no_lattice_beyond_it_is_no_step():
    for kind in ("edge", "curved", "disc"):
        for noise in (0.08, 0.3, 0.6, 1.0):
            frame = _plateau(kind, noise)
            same, found = scan_levelled(frame)
            assert found is None and same is frame, (kind, noise)


def test_a_closed_rim_is_no_step_even_with_the_lattice_on_both_sides():
    lattice = make_lattice((256, 256), spacing=SPACING, lattice="hexagonal", noise=0.08, seed=2)
    rows, cols = np.mgrid[:256, :256]
    island = np.hypot(rows - 120, cols - 130) < 70
    frame = (lattice.image + 12.0 * island).astype(np.float32)
    same, found = scan_levelled(frame)
    assert found is None and same is frame
