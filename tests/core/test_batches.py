"""What each training step reads: the decoder's pixel subset and the data a run starts from."""

import numpy as np
import pytest
import torch

from napari_ivae.core.errors import InputError
from napari_ivae.core.models.batches import pixel_subset, training_data
from napari_ivae.core.patches.source import PatchReader, PatchSource, SourcePatches


def test_a_pixel_subset_is_drawn_only_below_every_pixel():
    gen = torch.Generator().manual_seed(0)
    assert pixel_subset(256, 0, gen, "cpu") is None
    assert pixel_subset(256, 256, gen, "cpu") is None  # all of them: no subset
    assert pixel_subset(256, 300, gen, "cpu") is None
    assert gen.get_state().equal(torch.Generator().manual_seed(0).get_state())  # nothing drawn
    drawn = pixel_subset(256, 64, gen, "cpu")
    assert drawn is not None and drawn.shape == (64,) and len(torch.unique(drawn)) == 64
    assert int(drawn.min()) >= 0 and int(drawn.max()) < 256
    again = torch.randperm(256, generator=torch.Generator().manual_seed(0))[:64]
    assert torch.equal(drawn, again)  # the same draw as before it was one function


def test_training_data_in_memory_and_from_a_source():
    rng = np.random.default_rng(0)
    patches = rng.random((20, 12, 12)).astype(np.float32)
    data, reader, source, n = training_data(patches, (12, 12), seed=0)
    assert reader is None and source is None and n == 20
    np.testing.assert_array_equal(data, patches)
    image = rng.random((64, 64)).astype(np.float32)
    coords = rng.uniform(8, 56, (30, 2))
    cut = PatchSource(image, coords, 12)
    for given in (cut, SourcePatches(cut)):
        data, reader, source, n = training_data(given, (12, 12), seed=0)
        assert source is cut and isinstance(reader, PatchReader) and n == 30
        np.testing.assert_array_equal(data, cut.read(np.arange(30)))  # all of few patches
    with pytest.raises(InputError, match="the source cuts \\(12, 12\\) px patches"):
        training_data(cut, (16, 16), seed=0)
