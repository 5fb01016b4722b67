"""Suite-wide collection order: the slowest test files first.

The whole suite runs on pytest-xdist workers a file at a time (``--dist loadfile``, with
``--no-loadscope-reorder`` so that this order is kept), and a worker takes the next file when it
is almost done with its own. Started last, a long file would keep one worker busy while the
other has nothing left to do; started first, the short files fill in around it.
"""

from __future__ import annotations

# Summed test time of each file in seconds (set-up and teardown included), from a run of the
# whole suite on a clean clone (pytest --durations=0, idle machine), and for the files made
# cheaper since, scaled by their CPU time before and after: only the order matters; a file
# missing here runs after these, in the order it was collected.
SLOWEST_FILES = {
    "tests/napari/test_train_results.py": 43,
    "tests/napari/test_demo_cli.py": 27,
    "tests/napari/test_lazy_layer.py": 19,
    "tests/core/test_decoder.py": 16,
    "tests/core/test_cli_batch.py": 16,
    "tests/napari/test_detect_patches.py": 16,
    "tests/napari/test_search_widget.py": 16,
    "tests/core/bad_inputs/test_bad_writes.py": 14,
    "tests/napari/test_labeling.py": 14,
    "tests/napari/test_background.py": 14,
    "tests/napari/test_user_layers.py": 13,
    "tests/core/test_chunked.py": 12,
    "tests/napari/test_issue11_defects.py": 11,
    "tests/core/test_scheduling.py": 11,
    "tests/core/test_crvae.py": 11,
    "tests/napari/test_train_faults.py": 8,
    "tests/core/test_judge.py": 8,
    "tests/napari/test_activity_progress.py": 6,
    "tests/napari/test_start_warnings.py": 6,
}


def pytest_collection_modifyitems(config, items):
    """Slowest files first; the tests of a file stay together and in their order."""

    def cost(item):
        path = item.nodeid.split("::")[0]
        return -SLOWEST_FILES.get(path, 0)

    items.sort(key=cost)  # stable: the rest keep the order they were collected in
