"""File > Open Sample > napari-ivae: synthetic and small vendored real images.

Each function returns napari ``LayerData`` tuples ``(data, kwargs, layer_type)``.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from napari_ivae._widgets._session import CLASS_COLOURS

CARD_SIZE = 48
CARDS_PER_CLASS = 60
CARDS_PER_ROW = 20
LABELED_PER_CLASS = 6
SUIT_COLOURS = CLASS_COLOURS[:4]  # the class table's, so the suits look as labels drawn later


def _vendored(name: str) -> np.ndarray:
    with resources.files("napari_ivae.data").joinpath(name).open("rb") as handle:
        return np.load(handle)["image"]


def cards_mosaic(
    n_per_class: int = CARDS_PER_CLASS,
    *,
    size: int = CARD_SIZE,
    per_row: int = CARDS_PER_ROW,
    rotation: float = 60.0,
    translation: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Card-suit images tiled into one mosaic image, in shuffled order.

    Returns
    -------
    mosaic : (rows*size, per_row*size) float32
    centres : (N, 2) float64 (row, col) of each card's centre in the mosaic
    truth : DataFrame with the true ``suit`` (name), ``suit_index`` and ``angle_deg`` per card
    """
    from napari_ivae.core.synthetic.cards import make_cards

    cards = make_cards(
        n_per_class, size=size, rotation=rotation, translation=translation, seed=seed
    )
    order = np.random.default_rng(seed).permutation(len(cards.images))
    n = len(order)
    rows = int(np.ceil(n / per_row))
    mosaic = np.zeros((rows * size, per_row * size), dtype=np.float32)
    centres = np.zeros((n, 2))
    for slot, index in enumerate(order):
        r, c = divmod(slot, per_row)
        mosaic[r * size : (r + 1) * size, c * size : (c + 1) * size] = cards.images[index]
        centres[slot] = (r * size + size // 2, c * size + size // 2)  # patches.py convention
    labels = np.asarray(cards.labels)[order]
    truth = pd.DataFrame(
        {
            "suit": [cards.class_names[k] for k in labels],
            "suit_index": labels,
            "angle_deg": np.degrees(np.asarray(cards.angles)[order]),
        }
    )
    return mosaic, centres, truth


def label_rectangles(
    centres: np.ndarray, truth: pd.DataFrame, *, per_class: int, size: int
) -> tuple[list[np.ndarray], list[int]]:
    """Rectangles around the first ``per_class`` cards of each suit, and their class index."""
    shapes, classes = [], []
    half = size / 2 - 2
    for k in sorted(truth["suit_index"].unique()):
        for index in np.flatnonzero(truth["suit_index"].to_numpy() == k)[:per_class]:
            r, c = centres[index]
            shapes.append(np.array([[r - half, c - half], [r + half, c + half]]))
            classes.append(int(k))
    return shapes, classes


def cards_sample():
    """Card-suit mosaic, a Points layer at each card centre (with true suit and angle as
    features) and a Shapes layer labelling a few cards per suit, ready for ss-rVAE."""
    from napari_ivae.core.synthetic.cards import CARD_CLASSES

    mosaic, centres, truth = cards_mosaic()
    shapes, classes = label_rectangles(centres, truth, per_class=LABELED_PER_CLASS, size=CARD_SIZE)
    colours = [SUIT_COLOURS[k] for k in classes]
    class_table = {"names": list(CARD_CLASSES), "colours": list(SUIT_COLOURS)}
    return [
        (
            mosaic,
            {
                "name": "cards",
                "colormap": "gray",
                "metadata": {"sample": "cards", "card_size": CARD_SIZE},
            },
            "image",
        ),
        (
            centres,
            {
                "name": "card centres",
                "features": truth,
                "size": 6,
                "face_color": "yellow",
                "border_width": 0,
                "metadata": {"sample": "cards"},
            },
            "points",
        ),
        (
            list(shapes),
            {
                "name": "card labels",
                "shape_type": "rectangle",
                "features": pd.DataFrame({"class": classes}),
                "face_color": [c + "40" for c in colours],
                "edge_color": colours,
                "edge_width": 2,
                "metadata": {"napari_ivae_classes": class_table},
            },
            "shapes",
        ),
    ]


def lattice_sample():
    """A synthetic atomic lattice with two rotated domains, vacancies and noise."""
    from napari_ivae.core.synthetic.lattice import make_lattice

    lattice = make_lattice(
        (256, 256), spacing=12.0, rotation=0.0, domains=2, vacancies=0.02, seed=0
    )
    return [
        (
            lattice.image,
            {
                "name": "lattice",
                "colormap": "gray",
                "metadata": {"sample": "lattice", "params": lattice.params},
            },
            "image",
        )
    ]


def gold_sample():
    """Real HAADF STEM image of a gold grain boundary (AtomSegNet test image, MIT)."""
    image = _vendored("stem_gold_grain_boundary.npz").astype(np.float32)
    return [
        (
            image,
            {
                "name": "gold grain boundary",
                "colormap": "gray",
                "metadata": {"sample": "gold", "license": "MIT (AtomSegNet)"},
            },
            "image",
        )
    ]


def stm_sample():
    """Real STM topograph (nm) with atomic resolution and vacancies (SPIEPy demo, BSD-2)."""
    image = _vendored("stm_defects.npz").astype(np.float32)
    return [
        (
            image,
            {
                "name": "stm defects",
                "colormap": "gray",
                "metadata": {"sample": "stm", "units": "nm", "license": "BSD-2 (SPIEPy)"},
            },
            "image",
        )
    ]
