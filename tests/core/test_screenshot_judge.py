"""docs/screenshots.py scores the cards class traversal it puts in the tutorial picture."""

import numpy as np
from _scripts import load_script

from napari_ivae.core.synthetic.cards import CARD_CLASSES, make_cards


def _judge_traversal():
    return load_script("docs/screenshots.py", "screenshots").judge_traversal


def _traversal(rows):
    """A traversal image: row k holds two clean cards of suit ``rows[k]``, side by side."""
    cards = make_cards(2, size=48, seed=0)
    images = np.asarray(cards.images)
    labels = np.asarray(cards.labels)
    return np.concatenate(
        [np.concatenate(list(images[labels == suit][:2]), axis=1) for suit in rows], axis=0
    )


def test_each_row_is_judged_against_its_own_suit():
    judge = _judge_traversal()
    right = judge(_traversal(range(len(CARD_CLASSES))))
    assert right["match"] == 1.0
    assert right["rows"]["hearts"] == ["hearts", "hearts"]
    # every row drawn as spades: only the spades row matches
    wrong = judge(_traversal([1, 1, 1, 1]))
    assert wrong["match"] == 0.25
    assert wrong["rows"]["clubs"] == ["spades", "spades"]
