"""Suite-wide collection order: the slowest test files first.

The whole suite runs on pytest-xdist workers a file at a time (``--dist loadfile``, with
``--no-loadscope-reorder`` so that this order is kept), and a worker takes the next file when it
is almost done with its own. Started last, a long file would keep one worker busy while the
other has nothing left to do; started first, the short files fill in around it.
"""

from __future__ import annotations

# CPU seconds of each file's tests (the worker's threads and the processes it waited for), from
# a serial run with a per-test getrusage probe on the shared machine; the files not measured
# that way (each under 2.5 s) are scaled from their durations in a loaded run of the whole suite.
# Only the order matters; a file missing here (under 1 s) runs after these, in collection order.
SLOWEST_FILES = {
    "tests/napari/test_train_results.py": 25.5,
    "tests/napari/test_demo_cli.py": 15.0,
    "tests/napari/test_search_widget.py": 12.3,
    "tests/napari/test_detect_patches.py": 10.8,
    "tests/core/test_scheduling.py": 10.5,
    "tests/core/test_cli_batch.py": 9.8,
    "tests/napari/test_lazy_layer.py": 9.6,
    "tests/core/bad_inputs/test_bad_writes.py": 8.9,
    "tests/core/test_chunked.py": 7.7,
    "tests/napari/test_background.py": 7.6,
    "tests/napari/test_labeling.py": 7.4,
    "tests/core/test_decoder.py": 7.4,
    "tests/core/test_stored_maps.py": 7.3,
    "tests/napari/test_user_layers.py": 7.2,
    "tests/napari/test_start_warnings.py": 6.1,
    "tests/napari/test_issue11_defects.py": 6.0,
    "tests/core/test_crvae.py": 4.7,
    "tests/core/test_ss_cards_crvae.py": 4.0,
    "tests/core/test_cli_train_encode.py": 3.7,
    "tests/core/test_judge.py": 3.7,
    "tests/napari/test_workers.py": 3.5,
    "tests/core/test_particles_auto.py": 3.2,
    "tests/core/test_heldout.py": 2.9,
    "tests/core/test_streamed_training.py": 2.8,
    "tests/napari/test_readouts.py": 2.7,
    "tests/napari/test_lazy_maps.py": 2.4,
    "tests/core/test_packaging.py": 2.3,
    "tests/core/test_training.py": 2.3,
    "tests/core/test_cli_heldout.py": 2.1,
    "tests/napari/test_train_faults.py": 2.0,
    "tests/core/test_streaming.py": 2.0,
    "tests/napari/test_manifest.py": 2.0,
    "tests/napari/test_activity_progress.py": 1.9,
    "tests/core/test_import_purity.py": 1.8,
    "tests/napari/test_layout.py": 1.7,
    "tests/core/test_screenshot_judge.py": 1.6,
    "tests/core/test_search.py": 1.5,
    "tests/napari/test_explorer.py": 1.4,
    "tests/napari/test_model_provenance.py": 1.3,
    "tests/napari/test_train_min_steps.py": 1.2,
    "tests/core/test_inference.py": 1.2,
    "tests/core/test_joint_rvae.py": 1.1,
    "tests/core/test_crystal.py": 1.0,
    "tests/core/test_pose.py": 1.0,
}


def pytest_collection_modifyitems(config, items):
    """Slowest files first; the tests of a file stay together and in their order."""

    def cost(item):
        path = item.nodeid.split("::")[0]
        return -SLOWEST_FILES.get(path, 0)

    items.sort(key=cost)  # stable: the rest keep the order they were collected in
