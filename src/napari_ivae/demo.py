"""End-to-end demo in a real napari viewer, driven through the plugin's own widgets.

Used by ``napari-ivae demo`` (interactive or headless), ``docs/screenshots.py`` and the tests.
Each workflow opens a sample, docks the four widgets, and clicks through
detect -> patches (-> labels) -> train -> maps, exactly as a user would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from napari_ivae._demo_maps import _role, map_coherence, smoothest_map  # noqa: F401
from napari_ivae._demo_outputs import save_outputs  # noqa: F401 - importable from here too
from napari_ivae._demo_window import (  # noqa: F401 - importable from here too
    DOCK_WIDTH,
    screenshot,
    show_tab,
    still_activity_indicator,
)
from napari_ivae.core.errors import IvaeError

WIDGETS = ("Detect", "Patches and labels", "Train", "Results")


@dataclass
class Workflow:
    """One demo: which sample, how to cut patches, which model and how long to train."""

    name: str
    sample: str
    kind: str
    detect: bool
    patch_source: str  # "points" | "grid"
    epochs: int
    segment_role: str | None = None  # the map to segment at the end ("smoothest": see below)
    clusters: int = 0  # unsupervised classes to find at the end (0: none)
    train_overrides: dict = field(default_factory=dict)
    description: str = ""


#: segment the most spatially coherent written map (:func:`smoothest_map`: the active z or
#: angle map with the lowest edge length, the one that shows domains, not texture)
SMOOTHEST = "smoothest"

WORKFLOWS = {
    "atoms_rvae": Workflow(
        "atoms_rvae",
        "gold",
        "rvae",
        detect=True,
        patch_source="points",
        epochs=20,
        segment_role=SMOOTHEST,
        description="atoms on a real STEM image -> rVAE angle and "
        "latent maps, grains segmented from the most coherent map (angle or z)",
    ),
    "cards_ss_rvae": Workflow(
        "cards_ss_rvae",
        "cards",
        "ss-rvae",
        detect=False,
        patch_source="points",
        epochs=60,
        train_overrides={"latent_dim": 2},
        description="card suits, a few labeled by rectangles -> ss-rVAE classes",
    ),
    "cards_unsupervised": Workflow(
        "cards_unsupervised",
        "cards",
        "rvae",
        detect=False,
        patch_source="points",
        epochs=30,
        clusters=4,
        description="card suits, no labels -> rVAE, then 4 classes by k-means on "
        "its rotation-invariant latents",
    ),
    # 240 cards = 2 steps per epoch: 300 epochs are the joint rVAE's 600 default steps
    "cards_joint": Workflow(
        "cards_joint",
        "cards",
        "jrvae",
        detect=False,
        patch_source="points",
        epochs=300,
        train_overrides={"n_classes": 4},
        description="card suits, no labels -> joint rVAE: its own 4 classes, and a class "
        "traversal that draws each class upright",
    ),
    "lattice_shift_vae": Workflow(
        "lattice_shift_vae",
        "lattice",
        "shift-vae",
        detect=True,
        patch_source="grid",
        epochs=15,
        segment_role=SMOOTHEST,
        description="synthetic lattice, grid patches -> shift-VAE smooth latent maps",
    ),
}


def process_events_until(condition: Callable[[], bool], timeout: float = 600.0) -> None:
    """Run a real Qt event loop until ``condition()`` is true (raises TimeoutError).

    The condition is polled by a 5 ms QTimer inside ``QEventLoop.exec``, so the GUI is served
    exactly as in an interactive session (no sleeping outside Qt).
    """
    from qtpy.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout
    if condition():
        return
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(
        lambda: loop.quit() if condition() or time.monotonic() > deadline else None
    )
    poll.start()
    loop.exec_()
    poll.stop()
    if not condition():
        raise TimeoutError("the demo step did not finish in time")


def dock_widgets(viewer: Any) -> dict:
    """Open the four plugin widgets (tabbed on the right) and return them by name."""
    widgets = {}
    for name in WIDGETS:
        _, widget = viewer.window.add_plugin_dock_widget("napari-ivae", name, tabify=True)
        widgets[name] = widget
    return widgets


def run_workflow(
    viewer: Any,
    workflow: Workflow | str,
    *,
    epochs: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict:
    """Run a whole workflow in ``viewer`` through the widgets; returns a summary dict.

    Raises
    ------
    IvaeError
        When a step reports a problem (its status line text is the message).
    """
    from napari.layers import Image, Points, Shapes

    wf = WORKFLOWS[workflow] if isinstance(workflow, str) else workflow
    t0 = time.perf_counter()
    viewer.open_sample("napari-ivae", wf.sample)
    image = next(layer for layer in viewer.layers if isinstance(layer, Image))
    widgets = dock_widgets(viewer)
    detect, patches, train, results = (widgets[n] for n in WIDGETS)
    summary: dict = {"workflow": wf.name, "sample": wf.sample, "model": wf.kind, "seed": seed}
    if wf.detect:
        detect.image.value = image
        detect.detect()
        process_events_until(lambda: not detect.busy, 300)
        _check(detect.status)
        log(f"[detect] {detect.status.value}")
        summary["detect"] = detect.status.value
    patches.image.value = image
    patches.source.value = wf.patch_source
    if wf.patch_source == "points":
        patches.points.reset_choices()
        patches.points.value = next(
            layer for layer in reversed(viewer.layers) if isinstance(layer, Points)
        )
    shapes = [layer for layer in viewer.layers if isinstance(layer, Shapes)]
    if shapes:
        patches.shapes.value = shapes[0]
    if patches.extract() is None:
        _check(patches.status)
    log(f"[patches] {patches.status.value}")
    summary["patches"] = patches.status.value
    train.kind.value = wf.kind
    for key, value in wf.train_overrides.items():
        getattr(train, key).value = value
    train.epochs.value = epochs or wf.epochs
    if epochs:  # `napari-ivae demo --epochs N` trains exactly N epochs (no minimum of steps)
        train.min_steps.value = 0
    train.seed.value = seed
    if train.start() is None:
        _check(train.status)
    process_events_until(lambda: not train.busy, 900)
    _check(train.status)
    log(f"[train] {train.status.value}")
    summary["train"] = train.status.value
    results.reset_choices()
    results._update_confusion()
    if results.confusion.value:
        log("[results] confusion matrix of the labeled patches:\n" + results.confusion.value)
        summary["confusion"] = results.confusion.value
        if results.heldout_in_background() is not None:
            process_events_until(lambda: not results.busy, 600)
            _check(results.status)
            log("[results] " + results.heldout.value)
            summary["confusion_heldout"] = results.heldout.value
    if wf.segment_role:
        role = wf.segment_role
        if role == SMOOTHEST:
            role, why = smoothest_map(viewer)
            log(f"[results] {why}")
            summary["segmented"] = why
        target = (
            next((layer for layer in viewer.layers if _role(layer) == role), None) if role else None
        )
        if target is not None:
            results.segment_map.value = target
            results.segment()
            log(f"[results] {results.status.value}")
    if wf.clusters:
        results.n_clusters.value = wf.clusters
        if results.find_classes() is None:
            _check(results.status)
        process_events_until(lambda: results.cluster_button.enabled, 300)
        _check(results.status)
        log(f"[results] {results.status.value}")
        summary["clusters"] = results.status.value
    results.show_manifold()
    results.colour_by.reset_choices()
    for feature in ("ivae_cluster", "ivae_angle_deg", "ivae_class", "ivae_z1"):
        if feature in results.colour_by.choices:
            results.colour_by.value = feature
            break
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary


def _check(status: Any) -> None:
    if "#ff6b6b" in status.native.styleSheet():  # red: an error (amber is a warning to read)
        raise IvaeError(status.value)


def arrange_view(viewer: Any, workflow: Workflow | str) -> None:
    """Make the screenshot readable: the source image, its main map on top, points hidden.

    The main map of a workflow that segments (``segment_role``) is the map it segmented,
    shown with its segmentation.
    """
    wf = WORKFLOWS[workflow] if isinstance(workflow, str) else workflow
    main = {
        "atoms_rvae": "angle_map",
        "cards_ss_rvae": "class_map",
        "cards_unsupervised": "cluster_map",
        "cards_joint": "class_map",
        "lattice_shift_vae": "z1_map",
    }.get(wf.name)
    if wf.segment_role:
        segmented = [
            role.removeprefix("segmentation_")
            for role in map(_role, viewer.layers)
            if role and role.startswith("segmentation_")
        ]
        main = segmented[-1] if segmented else smoothest_map(viewer)[0] or main
    for layer in viewer.layers:
        role = _role(layer)
        if role is None:
            layer.visible = layer._type_string in ("image", "shapes")
        else:
            layer.visible = role in (main, f"segmentation_{main}", "manifold")
    main_layers = [layer for layer in viewer.layers if layer.visible]
    if main_layers:
        viewer.layers.selection.active = main_layers[-1]
    show_tab(
        viewer,
        {
            "cards_ss_rvae": "Patches and labels",
            "cards_unsupervised": "Results",
            "cards_joint": "Results",
            "lattice_shift_vae": "Results",
        }.get(wf.name, "Train"),
    )
    viewer.reset_view()
