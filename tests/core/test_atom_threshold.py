"""The white-noise null of the atoms' automatic contrast cut."""

import numpy as np

from napari_ivae.core.detection import atom_threshold


class _ClearedByAnotherThread(dict):
    """A cache that another thread empties right after each store."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.clear()


def _contrast_of(image, params):
    return image.ravel()[:: params["min_distance"]]


def test_null_contrasts_survive_the_cache_cleared_by_another_thread(monkeypatch):
    params = {"sigma": 1.0, "background": 4.0, "min_distance": 3, "spacing": 8.0}
    monkeypatch.setattr(atom_threshold, "_NULL_CACHE", _ClearedByAnotherThread())
    values = atom_threshold._unit_null_contrasts(128, params, _contrast_of)
    assert values.shape == (128 * 128 // 3 + 1,)
    assert np.all(np.diff(values) >= 0)


def test_larger_scales_keep_the_frames_params_and_fit_the_frame(monkeypatch):
    # the null at 2x and 4x the scale saw only the scaled keys: spacing_source was lost, so
    # a frame with no lattice periodicity was judged there against shuffled pixels instead of
    # its own texture; and a 4x spacing wider than the frame smoothed for seconds
    from napari_ivae.core.detection import atom_noise_null

    seen = []

    def null(frame, masked, params, contrast_of):
        seen.append(params)
        return np.zeros(0), 1.0

    monkeypatch.setattr(atom_noise_null, "shuffled_null", null)
    monkeypatch.setattr(atom_noise_null, "excess_over_null", lambda *args: (0.0, 0.0))
    params = {
        "sigma": 2.0,
        "background": 20.0,
        "min_distance": 16.0,
        "spacing": 40.0,
        "spacing_source": "blob scale (no lattice periodicity)",
    }
    frame = np.random.default_rng(0).normal(size=(128, 128)).astype(np.float32)
    contrasts = np.ones(4)
    steps = list(
        atom_threshold._against_null(
            contrasts, frame, None, frame.size, params, lambda image, p: image.ravel()[:4]
        )
    )
    assert [p["spacing"] for p in seen] == [40.0, 80.0]  # 160 px > 128: not tried
    assert len(steps) == 2
    assert all(p["spacing_source"] == params["spacing_source"] for p in seen)


def _rayleigh(quantiles):
    # peak contrasts of noise: a skewed, positive shape (Rayleigh quantiles)
    return 0.2 * np.sqrt(-2.0 * np.log(1.0 - quantiles))


def _fixed_null(image, params):
    return _rayleigh((np.arange(1500) + 0.5) / 1500)


def test_weak_atoms_below_the_nulls_median_are_not_counted_as_noise():
    # a lattice at a low dose: 1000 atoms whose contrasts reach well below the null's median
    # among 200 noise peaks. Storey's count (twice the candidates below that median) took the
    # 4 % of the atoms there for noise, 1.4x the noise peaks, and the cut kept 90 % of them;
    # the two-component fit finds those atoms, and the cut keeps nearly all atoms at about
    # the stated false-discovery share
    rng = np.random.default_rng(1)
    noise = _rayleigh(rng.uniform(size=200))
    atoms = rng.normal(0.45, 0.12, 1000)
    prominence = np.concatenate([noise, atoms])
    params = {"sigma": 1.0, "background": 4.0, "min_distance": 3.0, "spacing": 8.0}
    null = _fixed_null(None, params)
    weak = atom_threshold.atoms_below(np.sort(prominence), null, float(np.median(null)))
    assert 0.7 < weak / int((atoms <= np.median(null)).sum()) < 1.3
    cut = atom_threshold.contrast_cut(prominence, 1.0, 0.01, 1e6, params, _fixed_null)
    kept_atoms, kept_noise = int((atoms >= cut).sum()), int((noise >= cut).sum())
    assert kept_atoms >= 950
    assert kept_noise <= 0.15 * (kept_atoms + kept_noise)


def test_a_frame_of_noise_alone_is_counted_as_noise():
    # the fit's atom component must not take the noise's own lower half for atoms
    params = {"sigma": 1.0, "background": 4.0, "min_distance": 3.0, "spacing": 8.0}
    null = _fixed_null(None, params)
    for seed in range(3):
        noise = _rayleigh(np.random.default_rng(seed).uniform(size=1200))
        weak = atom_threshold.atoms_below(np.sort(noise), null, float(np.median(null)))
        assert weak < 0.1 * int((noise <= np.median(null)).sum())
        cut = atom_threshold.contrast_cut(noise, 1.0, 0.01, 1e6, params, _fixed_null)
        assert (noise >= cut).sum() <= 0.1 * len(noise)


def test_noise_between_atoms_lower_than_white_noise_is_not_taken_for_atoms():
    # a crop of a few cells: 40 noise maxima in the holes, measured against rings that pass
    # near the atoms, lie below white noise's contrasts; the fit's atom component took them
    # (no noise at all) and the cut let 12 of them through. The fit may give at most half
    # of the candidates below the null's median to the atoms
    rng = np.random.default_rng(3)
    noise = _rayleigh(rng.uniform(size=40)) - 0.2
    atoms = rng.normal(0.9, 0.15, 25)
    prominence = np.concatenate([noise, atoms])
    params = {"sigma": 1.0, "background": 4.0, "min_distance": 3.0, "spacing": 8.0}
    cut = atom_threshold.contrast_cut(prominence, 1.0, 0.01, 1764.0, params, _fixed_null)
    assert (noise >= cut).sum() == 0
    assert (atoms >= cut).sum() == len(atoms)


def test_the_nulls_binned_density_is_its_kernel_density_beyond_the_grid_too():
    rng = np.random.default_rng(3)
    null = rng.gumbel(size=1800)
    # the candidates' range covers only part of the null: values beyond it still count
    grid = np.linspace(0.5, 4.0, atom_threshold.MIXTURE_GRID)
    width = null.std(ddof=1) * len(null) ** -0.2
    gaps = (grid[:, None] - null[None, :]) / width
    exact = np.exp(-0.5 * gaps**2).sum(axis=1) / (len(null) * width * np.sqrt(2 * np.pi))
    binned = atom_threshold._kernel_density(null, grid)
    assert np.abs(binned - exact).max() < 1e-3 * exact.max()
