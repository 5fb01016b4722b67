"""The console script's end: the collector is frozen so that the interpreter's exit does not
walk every object once more; an in-process call with words leaves it alone."""

import gc
import sys

from napari_ivae.cli import main


def test_the_process_command_line_freezes_the_collector_when_done(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["napari-ivae"])  # no command: the help, status 2
    assert gc.get_freeze_count() == 0
    try:
        assert main() == 2
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert "usage: napari-ivae" in capsys.readouterr().err


def test_a_call_with_words_leaves_the_collector_alone(capsys):
    assert main([]) == 2
    assert gc.get_freeze_count() == 0
    assert "usage: napari-ivae" in capsys.readouterr().err
