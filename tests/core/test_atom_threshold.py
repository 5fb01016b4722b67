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
