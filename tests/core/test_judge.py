"""The independent suit judge (core.analysis.metrics.judge_suits) that scores decoded cards."""

import numpy as np

from napari_ivae.core.analysis.metrics import judge_suits, suit_match_rate
from napari_ivae.core.synthetic.cards import make_cards


def test_judge_recognises_transformed_clean_cards():
    cards = make_cards(6, rotation=180, shear=0.23, scale=(1.0, 1.3), translation=0.03, seed=5)
    assert suit_match_rate(cards.images, cards.labels) == 1.0
    # the intensity scale does not matter, a wrong intended suit does
    assert suit_match_rate(3.0 * cards.images + 7.0, cards.labels) == 1.0
    assert suit_match_rate(cards.images, (cards.labels + 1) % 4) == 0.0


def test_judge_is_at_chance_on_noise_and_on_identical_rows():
    rng = np.random.default_rng(0)
    noise = rng.random((40, 48, 48))
    assert suit_match_rate(noise, rng.integers(0, 4, 40)) < 0.5
    one = make_cards(1, seed=1).images[2]  # the same hearts decoded for all four suits
    same = np.stack([one] * 4)
    assert suit_match_rate(same, np.arange(4)) == 0.25
    assert (judge_suits(same) == 2).all()
