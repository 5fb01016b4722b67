"""The encoder's angle error that ``benchmarks/ss_cards.py`` reports (issue 10, noise)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from _scripts import load_script


@pytest.fixture(scope="module")
def ss_cards():
    return load_script("benchmarks/ss_cards.py", "ss_cards")


def _cards(n=2000, rotation=60.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    angles = np.deg2rad(rng.uniform(-rotation, rotation, n))
    return SimpleNamespace(images=np.zeros((n, 4, 4), np.float32), labels=labels, angles=angles)


def _with_angles(monkeypatch, ss_cards, angle):
    monkeypatch.setattr(ss_cards, "encode", lambda model, images: SimpleNamespace(angle=angle))


def test_exact_angles_in_each_suits_frame_and_either_sense_score_zero(ss_cards, monkeypatch):
    cards = _cards()
    offsets = np.array([0.3, -1.0, 2.0, 3.0])[cards.labels]  # each suit's own decoder frame
    _with_angles(monkeypatch, ss_cards, -cards.angles + offsets)
    assert ss_cards.angle_error_deg(None, cards) < 1e-6


def test_scattered_angles_score_their_spread_and_guessing_scores_half_the_range(
    ss_cards, monkeypatch
):
    cards = _cards()
    rng = np.random.default_rng(1)
    _with_angles(
        monkeypatch, ss_cards, cards.angles + np.deg2rad(rng.normal(0, 10, len(cards.labels)))
    )
    # median |N(0, 10 deg)| = 6.74 deg
    assert 5.5 < ss_cards.angle_error_deg(None, cards) < 8.0
    _with_angles(monkeypatch, ss_cards, np.zeros(len(cards.labels)))
    assert 27.0 < ss_cards.angle_error_deg(None, cards) < 33.0
