"""Labeled classes and found clusters never share a colour: a microscopist's STM session drew
the labeled class 1 box in blue and class 2 in orange over a cluster map of sky blue and
orange (CIEDE2000 9 and 4 apart), and the labels read as clusters."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from napari_ivae._sample_data import SUIT_COLOURS
from napari_ivae._widgets._session import ClassTable
from napari_ivae._widgets._writer import CLUSTER_COLOURS
from napari_ivae._widgets.class_table import PALETTE

DETECTIONS = "#ffd400"  # the detected points' yellow
APART = 20.0  # CIEDE2000: clearly different colours side by side


def _lab(colours):
    rgb = [[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours]
    return rgb2lab(np.array(rgb).reshape(-1, 1, 3)).reshape(-1, 3)


def _nearest(colour, others):
    return float(np.min(deltaE_ciede2000(_lab([colour]), _lab(others))))


@pytest.mark.parametrize("colour", PALETTE)
def test_every_class_colour_is_far_from_every_cluster_colour(colour):
    distance = _nearest(colour, [*CLUSTER_COLOURS, DETECTIONS])
    assert distance >= APART, (colour, distance)


def test_the_class_colours_differ_from_each_other_and_start_every_class_table():
    for k, colour in enumerate(PALETTE):
        assert _nearest(colour, PALETTE[:k] + PALETTE[k + 1 :]) >= APART, colour
    assert ClassTable().colours == list(PALETTE[:2])
    assert list(SUIT_COLOURS) == list(PALETTE[:4])  # the cards sample's classes


def test_a_new_class_in_the_table_takes_the_next_class_colour(qtbot):
    from napari_ivae._widgets.class_table import ClassTableWidget

    table = ClassTableWidget(ClassTable())
    qtbot.addWidget(table)
    table.add_class()
    assert table.classes.colours == list(PALETTE[:3])
