"""The console script's end: the collector is frozen so that the interpreter's exit does not
walk every object once more; an in-process call with words leaves it alone.

``gc.freeze`` is replaced by a recorder: a real freeze here would reach the rest of the test
process, and tests/napari/conftest.py freezes the collector in its own workers already.
"""

import gc
import sys

import pytest

from napari_ivae.cli import main


@pytest.fixture
def freezes(monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(True))
    return calls


def test_the_process_command_line_freezes_the_collector_when_done(monkeypatch, capsys, freezes):
    monkeypatch.setattr(sys, "argv", ["napari-ivae"])  # no command: the help, status 2
    assert main() == 2
    assert freezes == [True]
    assert "usage: napari-ivae" in capsys.readouterr().err


def test_a_call_with_words_leaves_the_collector_alone(capsys, freezes):
    assert main([]) == 2
    assert freezes == []
    assert "usage: napari-ivae" in capsys.readouterr().err
