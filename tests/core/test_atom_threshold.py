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
