"""The outermost rows of a particle's columns, beyond the crystalline region's edge
(atom_region.rim_atoms): the region's edge lies where the fringe amplitude falls to half the
crystal's, so on a particle that thins to its rim the last two rows lie beyond it."""

import numpy as np

from napari_ivae.core.detection.atom_region import OUTER_CONTRAST, rim_atoms

SPACING = 9.0


def _hexagonal_rows(rows: int = 12, cols: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """(row index, (row, col) points) of a hexagonal lattice in rows of ``cols`` atoms."""
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    step = np.array([SPACING * np.sqrt(3) / 2, 0.5 * SPACING])  # to the next row, 60 deg
    points = 20.0 + i.reshape(-1, 1) * step + j.reshape(-1, 1) * np.array([0.0, SPACING])
    return i.ravel(), points


def _rim_case(second_contrast: float):
    """Rows 0-8 inside the region (contrast 1), row 9 the first rim row (0.6), row 10 the
    second (``second_contrast``), plus bumps between the lattice sites of rows 9-11 (1.0)."""
    row, points = _hexagonal_rows()
    lattice = row <= 10
    points, row = points[lattice], row[lattice]
    bumps = points[row >= 9] + np.array([0.0, 0.5 * SPACING]) + np.array([3.0, 0.0])
    candidates = np.concatenate([points, bumps])
    prominence = np.concatenate(
        [np.where(row <= 8, 1.0, np.where(row == 9, 0.6, second_contrast)), np.ones(len(bumps))]
    )
    at_edge = np.concatenate([row >= 9, np.ones(len(bumps), bool)])
    keep = np.ones(len(candidates), bool)
    kind = np.concatenate([np.where(row <= 8, 0, row - 8), np.full(len(bumps), -1)])
    return candidates, prominence, keep, at_edge, kind


def test_the_second_rim_row_continues_the_lattice_of_the_first():
    # before: only the first row beyond the region's edge was judged (against the atoms
    # inside it); the second had no two inside atoms as neighbours and was dropped
    candidates, prominence, keep, at_edge, kind = _rim_case(second_contrast=0.6)
    found = rim_atoms(candidates, prominence, keep, at_edge, {"spacing": SPACING})
    inner_cols = (candidates[:, 1] > 20 + SPACING) & (candidates[:, 1] < 20 + 22 * SPACING)
    assert found[(kind == 1) & inner_cols].all()
    assert found[(kind == 2) & inner_cols].all()
    assert not found[kind == -1].any()  # bumps between the sites stay out


def test_a_weak_second_row_and_the_first_pass_keep_the_first_row_only():
    weak = 0.9 * OUTER_CONTRAST  # below OUTER_CONTRAST of the inner atoms' median (1.0)
    candidates, prominence, keep, at_edge, kind = _rim_case(second_contrast=weak)
    found = rim_atoms(candidates, prominence, keep, at_edge, {"spacing": SPACING})
    assert found[kind == 1].any() and not found[kind == 2].any()
    candidates, prominence, keep, at_edge, kind = _rim_case(second_contrast=0.6)
    confident = {"spacing": SPACING, "confident": True}
    found = rim_atoms(candidates, prominence, keep, at_edge, confident)
    assert found[kind == 1].any() and not found[kind == 2].any()


def test_a_particle_on_carbon_keeps_more_of_its_outer_rows():
    # before the atom_frame hunk (only the first rim row judged): rim recall 0.32 on seed 0
    # (columns beyond 0.85 of their particle's radius), 0.475 with it; nothing far on the film
    from scipy.spatial import cKDTree
    from test_atoms_stranger import PARTICLES, SEPARATION, particles_on_support

    from napari_ivae.core.analysis.metrics import match_points
    from napari_ivae.core.detection.atoms import detect_atoms

    image, truth, _ = particles_on_support(0)
    found = detect_atoms(image).coords[:, 1:]
    reach = np.min([np.hypot(*(truth - np.array(c)).T) / r for c, r, _ in PARTICLES], axis=0)
    pairs = match_points(found, truth, 0.35 * SEPARATION).pairs
    hit = np.zeros(len(truth), bool)
    hit[pairs[:, 1]] = True
    assert hit[reach > 0.85].mean() > 0.4
    assert len(pairs) > 0.9 * len(found)
    assert not (cKDTree(truth).query(found)[0] > 2 * SEPARATION).any()


def _faint_rimmed_particle(seed: int, texture: float = 0.0):
    """A hexagonal particle (12 px, radius 80 px) in vacuum (white noise 0.005) whose two outer
    rows of columns hold 0.06 of the inner columns' intensity (a thin rim: below a tenth of the
    frame's typical contrast, far above the vacuum's noise); ``texture``: the standard deviation
    of a correlated film (atom-sized grains) over the whole frame."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    spacing, size, radius = 12.0, 256, 80.0
    i, j = (index.reshape(-1, 1) for index in np.meshgrid(*[np.arange(-30, 31)] * 2))
    sites = 128.0 + i * np.array([0.0, spacing]) + j * spacing * np.array([np.sqrt(3) / 2, 0.5])
    sites = sites[np.hypot(*(sites - 128.0).T) <= radius]
    outer = np.hypot(*(sites - 128.0).T) > radius - np.sqrt(3) * spacing
    image = np.zeros((size, size))
    rows, cols = np.mgrid[:size, :size].astype(float)
    for (row, col), amplitude in zip(sites, np.where(outer, 0.06, 1.0)):
        near = (slice(int(row) - 8, int(row) + 9), slice(int(col) - 8, int(col) + 9))
        image[near] += amplitude * np.exp(
            -((rows[near] - row) ** 2 + (cols[near] - col) ** 2) / (2 * 1.6**2)
        )
    if texture:
        film = ndimage.gaussian_filter(rng.standard_normal(image.shape), 1.6)
        image += texture * film / film.std()
    image += 0.005 * rng.standard_normal(image.shape)
    return image.astype(np.float32), sites, outer, spacing


def test_a_particle_in_vacuum_keeps_its_faint_outer_rows():
    # before atom_rim_cut: the rim was judged by the frame's cut, whose floor (a tenth of the
    # 90th-percentile contrast) is for amorphous bumps; the quiet vacuum has none, and the two
    # thin outer rows (78 columns) were all dropped (0 of 78 on both seeds)
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection.atoms import detect_atoms

    for seed in (0, 1):
        image, sites, outer, spacing = _faint_rimmed_particle(seed)
        found = detect_atoms(image).coords[:, 1:]
        hit = cKDTree(found).query(sites)[0] < 0.35 * spacing
        assert hit[~outer].all()
        assert hit[outer].mean() > 0.9
        assert not (cKDTree(sites).query(found)[0] >= 0.35 * spacing).any()


def test_a_textured_surrounding_keeps_the_frames_cut_at_the_rim(monkeypatch):
    # a film as grainy as the rim's columns: its spread is measured beyond the rim, and the rim
    # is judged by the frame's cut as before (measured: 0-7 of the 78 faint columns, no false)
    from scipy.spatial import cKDTree

    from napari_ivae.core.detection import atom_frame
    from napari_ivae.core.detection.atoms import detect_atoms

    image, sites, outer, spacing = _faint_rimmed_particle(0, texture=0.05)
    seen = []
    original = atom_frame.rim_contrast_cut

    def spy(prominence, allowed, cut, *rest):
        value = original(prominence, allowed, cut, *rest)
        seen.append((value, cut))
        return value

    monkeypatch.setattr(atom_frame, "rim_contrast_cut", spy)
    found = detect_atoms(image).coords[:, 1:]
    assert seen and all(value == cut for value, cut in seen)
    assert not (cKDTree(sites).query(found)[0] >= 0.35 * spacing).any()


def test_the_chunked_path_keeps_the_faint_outer_rows_alike():
    from napari_ivae.core.detection.atoms import detect_atoms
    from napari_ivae.core.detection.chunked import detect_atoms_chunked

    image, _, _, _ = _faint_rimmed_particle(0)
    memory = detect_atoms(image)
    chunked = detect_atoms_chunked(image, chunk=128, scheduler="sync")
    assert chunked.params["chunked"]["sample_is_frame"]
    assert len(chunked.coords) == len(memory.coords) > 150
    np.testing.assert_allclose(chunked.coords, memory.coords, rtol=0, atol=1e-6)
