"""The offsets' prior by kind: the crVAE is built with a narrower one (0.05 of the patch width)
by default; models saved with a value keep it (issue 10, crVAE over seeds)."""

import pytest

from napari_ivae.core.errors import InputError
from napari_ivae.core.models import ModelConfig, build_model
from napari_ivae.core.models.config import default_translation_prior


def test_the_crvae_defaults_to_a_narrower_offset_prior():
    crvae = ModelConfig("crvae", patch_shape=(16, 16), class_names=("a", "b"))
    assert crvae.translation_prior == default_translation_prior("crvae") == 0.05
    assert build_model(crvae).offset_prior_std() == pytest.approx(0.1)
    for kind, extra in (("rvae", {}), ("ss-rvae", {"n_classes": 2}), ("vae", {})):
        assert ModelConfig(kind, **extra).translation_prior == 0.1


def test_a_given_prior_is_kept_and_saved_configs_rebuild_as_they_were():
    given = ModelConfig("crvae", class_names=("a", "b"), translation_prior=0.1)
    assert given.translation_prior == 0.1
    assert ModelConfig.from_dict(given.to_dict()).translation_prior == 0.1
    with pytest.raises(InputError, match="translation_prior"):
        ModelConfig("crvae", class_names=("a", "b"), translation_prior=0.0)
