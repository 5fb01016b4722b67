"""The missed sites of grains whose lattice the frame's translations do not describe.

Part of :func:`~napari_ivae.core.detection.lattice_sites.lattice_sites`. A polycrystal's
grains share no translation: over the frame none is shared by enough of the atoms (or only
one grain's is), so the atoms of the other grains have no partner and their missed sites are
never judged (stranger_networks' polycrystals of 2-4 nm grains at 0.5 counts per pixel at an
atom: 0.60-0.74 of the atoms found at a precision of 0.89-0.97). Within a square about a
grain wide (``GRAIN_CELLS`` spacings) most of those atoms belong to one grain, and its
translations are found from them as the frame's are
(:func:`~napari_ivae.core.detection.lattice_translations.translations`). :func:`grain_sites`
looks at half-overlapping squares of that side that hold at least ``MIN_ATOMS`` such atoms;
where the square's atoms make a lattice, its sites in the square's central half are judged as
the frame's are, against the holes of that lattice in the square
(:func:`~napari_ivae.core.detection.lattice_sites.judged_sites`). The central halves tile the
frame, so no place is judged twice. A single crystal's squares hold atoms with partners along
the frame's translations (or make its lattice again): they are passed over. An amorphous
network holds patches of a honeycomb's order by chance (two CRN frames took a site or two):
the grains are looked for only where the spacing came from the spectrum's lattice
(``lattice_sites``).
"""

from __future__ import annotations

import numpy as np

from napari_ivae.core.detection.lattice_translations import MIN_ATOMS, translations

GRAIN_CELLS = 11  # the squares' side in spacings: grains of 2-4 nm hold 8-16 lattice constants


def grain_sites(
    frame, points, params, excluded=None, taken=None, frame_shifts=None, partnered=None
):
    """Sites of the grains the frame's translations miss, and their responses.

    Parameters
    ----------
    frame : numpy.ndarray
        The 2D frame, atoms bright.
    points : numpy.ndarray
        ``(N, 2)`` the found atoms.
    params : dict
        The detector's parameters (``spacing``, ``sigma``, ``border``).
    excluded : numpy.ndarray, optional
        ``(Y, X)`` mask where nothing may be detected.
    taken : numpy.ndarray, optional
        ``(M, 2)`` places already held (every found atom, the frame's lattice's sites): no
        site is put within ``FAR`` spacings of one.
    frame_shifts : numpy.ndarray, optional
        The frame's translations, when it has some: a square whose lattice is theirs (its
        two shortest translations among them) was judged with the frame's and is passed over.
    partnered : numpy.ndarray, optional
        Boolean ``(N,)``: the atoms with partners along the frame's translations; a square
        where they are the most (the frame's lattice) is passed over without a look.

    Returns
    -------
    sites : numpy.ndarray
        ``(K, 2)`` the sites that hold an atom.
    response : numpy.ndarray
        ``(K,)`` their matched responses.
    """
    from napari_ivae.core.detection.lattice_sites import FAR, judged_sites

    spacing = float(params["spacing"])
    quarter = max(int(round(GRAIN_CELLS * spacing / 4)), 1)
    half = 2 * quarter
    lonely = np.asarray(points, dtype=np.float64)
    partnered = np.zeros(len(lonely), dtype=bool) if partnered is None else partnered
    found, response = [np.zeros((0, 2))], [np.zeros(0)]
    if len(lonely) < MIN_ATOMS:
        return found[0], response[0]
    height, width = frame.shape
    every, paired = _square_counts(lonely, partnered, quarter, frame.shape)
    for i, top in enumerate(range(0, height, half)):
        rows = (max(top - quarter, 0), min(top + half + quarter, height))
        band = np.flatnonzero((lonely[:, 0] >= rows[0]) & (lonely[:, 0] < rows[1]))
        for j, left in enumerate(range(0, width, half)):
            # a square with few atoms, or the frame's lattice (most partnered), is passed over
            held, joined = every[i, j], paired[i, j]
            if held < MIN_ATOMS or 2 * joined > held:
                continue
            low = np.array([rows[0], max(left - quarter, 0)])
            high = np.array([rows[1], min(left + half + quarter, width)])
            across = lonely[band, 1]
            local = lonely[band[(across >= low[1]) & (across < high[1])]] - low
            shifts = translations(local, spacing)
            if len(shifts) == 0 or _same_lattice(shifts, frame_shifts, spacing):
                continue
            crop = frame[low[0] : high[0], low[1] : high[1]]
            outside_core = np.ones(crop.shape, dtype=bool)
            corner = (top - low[0], left - low[1])
            outside_core[corner[0] : corner[0] + half, corner[1] : corner[1] + half] = False
            if excluded is not None:
                window = np.asarray(excluded, dtype=bool)[low[0] : high[0], low[1] : high[1]]
                outside_core |= window
            sites, values = judged_sites(
                crop, local, np.zeros(len(local), dtype=bool), shifts, params, outside_core
            )
            bright = values > 0  # an atom stands above its surroundings' mean (a boundary's
            found.append(sites[bright] + low)  # gap, darker than both grains, can pass its
            response.append(values[bright])  # square's holes there)
    sites, response = np.concatenate(found), np.concatenate(response)
    if len(sites) and taken is not None and len(taken):
        from scipy.spatial import cKDTree

        apart = cKDTree(taken).query(sites)[0] > FAR * spacing
        sites, response = sites[apart], response[apart]
    return sites, response


def _square_counts(points, partnered, quarter: int, shape) -> tuple:
    """Atoms, and atoms with partners, in each square of :func:`grain_sites` (the square at
    ``(i, j)`` spans quarter-cells ``2 i - 1`` to ``2 i + 2`` along rows, alike along
    columns): summed from per-cell counts, not looked up square by square."""
    cells = [int(np.ceil(n / quarter)) for n in shape]
    index = np.clip(np.floor(points / quarter).astype(np.int64), 0, np.array(cells) - 1)
    flat = index[:, 0] * cells[1] + index[:, 1]
    sums = []
    for weights in (None, partnered.astype(np.float64)):
        count = np.bincount(flat, weights, minlength=cells[0] * cells[1]).reshape(cells)
        table = np.zeros((cells[0] + 2, cells[1] + 2))
        table[1:-1, 1:-1] = count
        table = np.pad(np.cumsum(np.cumsum(table, axis=0), axis=1), ((1, 0), (1, 0)))
        rows = np.arange(0, cells[0], 2)  # square i: padded cells 2i .. 2i + 3
        cols = np.arange(0, cells[1], 2)
        r0, r1 = rows[:, None], np.minimum(rows + 4, cells[0] + 2)[:, None]
        c0, c1 = cols[None, :], np.minimum(cols + 4, cells[1] + 2)[None, :]
        sums.append(table[r1, c1] - table[r0, c1] - table[r1, c0] + table[r0, c0])
    return sums[0], sums[1]


def _same_lattice(shifts, frame_shifts, spacing) -> bool:
    """Whether every one of ``shifts`` is within ``TOLERANCE`` spacings of one of
    ``frame_shifts`` (``False`` without those)."""
    from napari_ivae.core.detection.lattice_translations import TOLERANCE

    if frame_shifts is None or len(frame_shifts) == 0:
        return False
    gaps = np.hypot(*(shifts[:, None, :] - frame_shifts[None, :, :]).transpose(2, 0, 1))
    return bool((gaps.min(axis=1) <= TOLERANCE * spacing).all())


__all__ = ["GRAIN_CELLS", "grain_sites"]
