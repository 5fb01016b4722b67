"""Sample data, the Detect widget and the Patches and labels widget, in a real viewer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from napari_helpers import PLUGIN, assert_untouched, is_error, open_widget, snapshot

from napari_ivae._widgets._session import get_session


@pytest.mark.parametrize("key", ["cards", "lattice", "gold", "stm"])
def test_samples_open(viewer, key):
    viewer.open_sample(PLUGIN, key)
    image = viewer.layers[0]
    assert image._type_string == "image" and image.data.ndim == 2
    assert np.isfinite(image.data).all() and float(np.ptp(image.data)) > 0


def test_cards_sample_brings_points_with_truth_and_labelled_shapes(viewer):
    viewer.open_sample(PLUGIN, "cards")
    points, shapes = viewer.layers["card centres"], viewer.layers["card labels"]
    assert set(points.features["suit"]) == {"clubs", "spades", "hearts", "diamonds"}
    assert len(shapes.data) == 24
    assert sorted(pd.Series(shapes.features["class"]).value_counts().tolist()) == [6, 6, 6, 6]


def test_detect_writes_points_aligned_with_features(viewer, lattice_layer, qtbot):
    before = snapshot(lattice_layer)
    detect = open_widget(viewer, "Detect")
    assert detect.image.value is lattice_layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert "atoms found" in detect.status.value and not is_error(detect.status)
    assert "1 px =" not in detect.status.value  # an image in pixels: no physical size
    points = viewer.layers["lat atoms [ivae]"]
    assert len(points.data) > 50
    assert {"row", "col"} <= set(points.features.columns)
    np.testing.assert_allclose(points.scale, lattice_layer.scale)
    np.testing.assert_allclose(points.translate, lattice_layer.translate)
    assert points.metadata["napari_ivae"]["source"] == "lat"
    n_layers = len(viewer.layers)
    detect.detect()  # re-running updates its own layer
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert len(viewer.layers) == n_layers
    assert_untouched(viewer, before)


def test_detect_leaves_out_non_crystal_peaks_unless_asked(viewer, qtbot):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
    from _crystal_data import particle_on_amorphous_support

    image, _, _ = particle_on_amorphous_support()
    viewer.add_image(image, name="np")
    detect = open_widget(viewer, "Detect")
    counts = {}
    for keep in (False, True):
        detect.keep_non_crystal.value = keep
        detect.detect()
        qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
        assert not is_error(detect.status)
        counts[keep] = len(viewer.layers["np atoms [ivae]"].data)
        if not keep:
            assert "outside the crystalline region" in detect.status.value
            assert "('keep peaks outside the crystal' keeps them)" in detect.status.value
    assert counts[True] > counts[False] + 50
    detect.mode.value = "particles"
    assert not detect.keep_non_crystal.visible


def test_detect_shows_estimated_spacing(viewer, lattice_layer):
    detect = open_widget(viewer, "Detect")
    spacing = detect.estimate_spacing()
    assert spacing == pytest.approx(8.0, rel=0.15)
    assert "estimated spacing" in detect.status.value


def test_detect_without_image_explains(viewer, qtbot):
    detect = open_widget(viewer, "Detect")
    detect.detect()
    assert is_error(detect.status) and "image" in detect.status.value
    assert not detect.busy


def test_patches_from_points_and_labels_from_shapes(viewer, qtbot):
    viewer.open_sample(PLUGIN, "cards")
    patches = open_widget(viewer, "Patches and labels")
    assert patches.points.value is viewer.layers["card centres"]
    assert patches.shapes.value is viewer.layers["card labels"]
    patchset = patches.extract()
    assert patchset.patches.shape[1:] == (48, 48)  # the sample's card size
    labels = patches._session.labels
    assert [int(np.sum(labels == k)) for k in range(4)] == [6, 6, 6, 6]
    assert patches.class_table.table.item(0, 2).text() == "6"
    # draw a new rectangle with class 2 current around an unlabeled card: counts update live
    shapes = viewer.layers["card labels"]
    unlabeled = int(np.flatnonzero(labels < 0)[0])
    r, c = patchset.centres[unlabeled]
    patches.class_table.set_current(2)
    shapes.selected_data = set()
    shapes.add_rectangles(np.array([[r - 20, c - 20], [r + 20, c + 20]]))
    assert int(shapes.features["class"].iloc[-1]) == 2
    qtbot.waitUntil(lambda: not patches.busy, timeout=10000)  # recounted in a worker
    assert int(np.sum(patches._session.labels == 2)) == 7
    assert patches.class_table.table.item(2, 2).text() == "7"


def test_new_annotation_layer_and_class_table(viewer, lattice_layer):
    patches = open_widget(viewer, "Patches and labels")
    layer = patches.new_annotation_layer()
    assert layer.name == "lat labels" and "class" in layer.features
    np.testing.assert_allclose(layer.scale, lattice_layer.scale)
    index = patches.class_table.add_class("vacancy")
    patches.class_table.rename(0, "bulk")
    assert patches.classes.names[0] == "bulk" and patches.classes.names[index] == "vacancy"
    assert layer.metadata["napari_ivae_classes"]["names"][index] == "vacancy"


def test_patch_larger_than_image_explains(viewer, lattice_layer):
    patches = open_widget(viewer, "Patches and labels")
    patches.source.value = "grid"
    patches.size.value = 500
    assert patches.extract() is None
    assert is_error(patches.status)


def test_grid_patches_need_no_points(viewer, lattice_layer):
    patches = open_widget(viewer, "Patches and labels")
    patches.source.value = "grid"
    patches.size.value = 16
    patches.stride.value = 8
    patchset = patches.extract()
    assert patchset.grid_shape is not None and patchset.patches.shape[1:] == (16, 16)


def test_points_source_without_points_layer_explains(viewer, lattice_layer):
    patches = open_widget(viewer, "Patches and labels")
    assert patches.extract() is None
    assert "Detect" in patches.status.value and is_error(patches.status)


def test_detect_particles_adds_points_and_labels(viewer, qtbot):
    from skimage.draw import disk

    image = np.zeros((96, 96), dtype=np.float32)
    for r, c in [(20, 20), (20, 70), (70, 30), (60, 70)]:
        image[disk((r, c), 7)] = 1.0
    layer = viewer.add_image(
        image + 0.05 * np.random.default_rng(0).random(image.shape), name="blobs"
    )
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.mode.value = "particles"
    assert not detect.method.native.isHidden() and detect.spacing.native.isHidden()
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert not is_error(detect.status), detect.status.value
    assert len(viewer.layers["blobs particles [ivae]"].data) == 4
    labels = viewer.layers["blobs particle labels [ivae]"]
    assert labels.data.shape == image.shape and labels.data.max() == 4


def test_detect_on_a_stack_gives_frame_coordinates(viewer, qtbot):
    from napari_ivae.core.synthetic.lattice import make_lattice

    stack = np.stack([make_lattice((64, 64), spacing=8.0, seed=s).image for s in range(3)])
    layer = viewer.add_image(stack, name="stack")
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    points = viewer.layers["stack atoms [ivae]"]
    assert points.data.shape[1] == 3
    assert set(np.unique(points.data[:, 0])) == {0, 1, 2}
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = layer
    patches.points.value = points
    patches.size.value = 12
    patchset = patches.extract()
    assert set(np.unique(patchset.frames)) == {0, 1, 2}


@pytest.mark.parametrize("mode", ["atoms", "particles"])
@pytest.mark.parametrize("lazy", [False, True])
def test_detect_says_a_stacks_count_once(viewer, qtbot, mode, lazy):
    """The status gives the count of a stack once, with its frames ("408 atoms found in 3
    frames"), not again in the core's own summary of the stack."""
    import re

    from napari_ivae.core.synthetic.lattice import make_lattice
    from napari_ivae.core.synthetic.particles import make_particles

    if mode == "atoms":
        frames = [make_lattice((96, 96), spacing=8.0, seed=s).image for s in range(3)]
    else:
        frames = [make_particles((160, 160), count=15, radius=6, seed=s).image for s in range(3)]
    stack = np.stack(frames)
    if lazy:
        import dask.array as da

        stack = da.from_array(stack, chunks=(1, *stack.shape[1:]))
    layer = viewer.add_image(stack, name="stack")
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.mode.value = mode
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    n = len(viewer.layers[f"stack {mode} [ivae]"].data)
    text = detect.status.value
    assert text.startswith(f"{n} {mode} found in 3 frames;"), text
    assert len(re.findall(rf"\b{n}\b", text)) == 1, text
    assert text.count("spacing") <= 1, text


def test_empty_points_layer_and_shapes_missing_every_patch_explain(viewer, lattice_layer):
    empty = viewer.add_points(np.zeros((0, 2)), name="nothing")
    patches = open_widget(viewer, "Patches and labels")
    patches.points.value = empty
    assert patches.extract() is None
    assert is_error(patches.status) and "no points" in patches.status.value
    points = viewer.add_points(np.array([[20.0, 20.0], [40.0, 40.0]]), name="two")
    patches.points.value = points
    patches.size.value = 12
    shapes = patches.new_annotation_layer()
    shapes.add_rectangles(np.array([[80.0, 80.0], [90.0, 90.0]]))  # contains no centre
    assert patches.extract() is not None
    assert "No patch centre lies inside a shape" in patches.status.value


def test_removing_a_class_renumbers_the_shapes(viewer, qtbot):
    viewer.open_sample(PLUGIN, "cards")
    patches = open_widget(viewer, "Patches and labels")
    patches.extract()
    shapes = viewer.layers["card labels"]
    patches.class_table.set_current(1)  # spades
    shapes.selected_data = set()
    patches.class_table.remove_current()
    assert patches.classes.names == ["clubs", "hearts", "diamonds"]
    classes = shapes.features["class"].to_numpy()
    assert sorted(pd.Series(classes).value_counts().items()) == [(-1, 6), (0, 6), (1, 6), (2, 6)]
    qtbot.waitUntil(lambda: not patches.busy, timeout=10000)
    labels = patches._session.labels
    assert [int(np.sum(labels == k)) for k in range(3)] == [6, 6, 6]


def test_detect_shows_auto_values_and_retunes_live(viewer, lattice_layer, qtbot):
    detect = open_widget(viewer, "Detect")
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert "spacing" in detect.status.value and "(auto)" in detect.status.value
    points = viewer.layers["lat atoms [ivae]"]
    meta = points.metadata["napari_ivae"]
    assert meta["widget_settings"]["spacing"] is None and "warnings" in meta["quality"]
    # dragging the spacing: a burst of changes, one more detection with the last value
    for value in (9.0, 9.5, 10.0):
        detect.spacing.value = value
    qtbot.waitUntil(lambda: detect.busy, timeout=5000)
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    meta = viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]
    assert meta["spacing"] == 10.0 and meta["spacing_source"] == "given"
    assert "(auto)" not in detect.status.value.split("smoothing")[0]
    # switched off: changes wait for the button
    detect.live.value = False
    detect.spacing.value = 8.0
    qtbot.wait(400)
    assert not detect.busy
    assert viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]["spacing"] == 10.0


def _detected(detect, qtbot):
    """Run Detect and wait for its result. The wait is a bound on a starved machine, not a
    time limit: a detection here costs 0.1-0.4 s CPU, but a test process at nice 10 beside
    load 8 of normal-priority jobs gets a few % of a core (the once-failing 30 s wait);
    it ends as soon as the worker has. A failed detection shows its message."""
    detect.detect()
    try:
        qtbot.waitUntil(lambda: not detect.busy, timeout=300000)
    except qtbot.TimeoutError as err:
        raise AssertionError(f"Detect still busy: {detect.status.value!r}") from err
    assert not is_error(detect.status), detect.status.value


def test_detect_decides_dark_atoms_and_obeys_a_forced_polarity(viewer, qtbot):
    from napari_ivae.core.synthetic.lattice import make_lattice

    truth = make_lattice((160, 160), spacing=10.0, noise=0.05, seed=13)
    viewer.add_image(truth.image.max() + 0.2 - truth.image, name="abf")
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    _detected(detect, qtbot)
    assert "dark atoms (auto)" in detect.status.value, detect.status.value
    automatic = len(viewer.layers["abf atoms [ivae]"].data)
    detect.polarity.value = "bright"
    _detected(detect, qtbot)
    assert viewer.layers["abf atoms [ivae]"].metadata["napari_ivae"]["invert"] is False
    assert len(viewer.layers["abf atoms [ivae]"].data) != automatic


def test_a_failed_detection_marks_the_previous_result_stale(viewer, lattice_layer, qtbot):
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert "lat atoms [ivae]" in viewer.layers
    detect.spacing.value = 900.0  # does not fit the image: refused
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert is_error(detect.status) and "does not fit" in detect.status.value
    assert "lat atoms [ivae] (stale)" in viewer.layers
    detect.spacing.value = 0.0  # auto again: the layer is current again
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert "lat atoms [ivae]" in viewer.layers and not is_error(detect.status)


def test_point_spacing_of_a_stack_is_measured_within_each_frame():
    """The same atoms in every frame of a stack are not each other's neighbours: the automatic
    patch size's spacing is the lattice's (10 px), not 0."""
    from napari_ivae.core.patches.sizing import points_spacing

    grid = np.stack(np.meshgrid(np.arange(5) * 10.0, np.arange(5) * 10.0), -1).reshape(-1, 2)
    stack = np.concatenate([np.c_[np.full(len(grid), frame), grid] for frame in range(3)])
    assert points_spacing(stack) == pytest.approx(10.0)
    assert points_spacing(grid) == pytest.approx(10.0)
    assert points_spacing(np.array([[0, 1.0, 2.0], [1, 3.0, 4.0]])) is None


def _discs(n=5, step=40, radius=10, margin=30, noise=0.15, seed=0):
    """``n`` × ``n`` bright flat discs, the outer ring ``margin`` px from the border."""
    side = 2 * margin + (n - 1) * step
    yy, xx = np.mgrid[:side, :side]
    image = np.zeros((side, side), np.float32)
    for i in range(n):
        for j in range(n):
            centre = (margin + step * i, margin + step * j)
            image[(yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2] = 1.0
    rng = np.random.default_rng(seed)
    return image + rng.normal(0, noise, image.shape).astype(np.float32)


def _detect(viewer, detect, layer, mode, qtbot):
    detect.image.value = layer
    detect.mode.value = mode
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    assert not is_error(detect.status), detect.status.value


def test_patches_say_why_points_were_left_out_and_where_the_size_came_from(viewer, qtbot):
    """25 discs (diameter ~19 px, 40 px apart, 30 px from the border): the automatic size is
    two diameters and keeps all 25, the status says so; a size of two spacings (78 px) cuts
    only the inner 9, and the status says why the others were left out, in amber."""
    layer = viewer.add_image(_discs(), name="discs")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    _detect(viewer, detect, layer, "particles", qtbot)
    points = viewer.layers["discs particles [ivae]"]
    assert len(points.data) == 25
    patches.image.value, patches.points.value = layer, points
    patchset = patches.extract()
    assert len(patchset.patches) == 25 and 36 <= patchset.patches.shape[1] <= 40
    status = patches.status.value
    assert "auto: 2 x particle diameter" in status and "median equivalent_diameter" in status
    assert "dropped" not in status and "#ffb347" not in patches.status.native.styleSheet()
    patches.size.value = 78  # two spacings, the size before particles were sized by diameter
    n = len(patches.extract().patches)
    assert n < 25 * 0.75
    status = patches.status.value
    assert f"{25 - n} of 25 patches" in status and "dropped" in status, status
    assert "a smaller patch size keeps them" in status and "auto" not in status
    assert "#ffb347" in patches.status.native.styleSheet()  # amber: most points are gone


def test_particle_patches_ignore_a_spacing_measured_on_another_image(viewer, qtbot):
    """Atoms detected on one image, particles on another: the particles' patches are sized
    from their own points (two diameters), not from the other image's lattice spacing."""
    from napari_ivae.core.patches.sizing import auto_patch_size, particle_diameter, points_spacing

    lattice = viewer.add_image(np.asarray(_lattice_image()), name="lat")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    _detect(viewer, detect, lattice, "atoms", qtbot)
    assert get_session(viewer).spacing < 12  # the lattice's 8 px
    discs = viewer.add_image(_discs(margin=45), name="discs")
    _detect(viewer, detect, discs, "particles", qtbot)
    points = viewer.layers["discs particles [ivae]"]
    patches.image.value, patches.points.value = discs, points
    patchset = patches.extract()
    diameter, _ = particle_diameter(points.features)
    expected = auto_patch_size(points_spacing(np.asarray(points.data)), diameter)
    assert patchset.patches.shape[1] == expected == 2 * round(diameter) > 30
    assert len(patchset.patches) == 25


def test_widget_and_command_line_cut_the_same_particle_patches(viewer, qtbot, tmp_path):
    """The same particles through the widget (patch size 0, default normalisation) and through
    `napari-ivae patches` without --size or --normalize: the same size, normalisation and
    patches."""
    from napari_ivae.cli import main
    from napari_ivae.core.patches.cutting import load_patches

    image = _discs()
    layer = viewer.add_image(image, name="discs")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    _detect(viewer, detect, layer, "particles", qtbot)
    points = viewer.layers["discs particles [ivae]"]
    patches.image.value, patches.points.value = layer, points
    widget = patches.extract()
    np.save(tmp_path / "discs.npy", image)
    table = points.features.drop(columns=["row", "col"], errors="ignore")
    table.insert(0, "col", points.data[:, 1])
    table.insert(0, "row", points.data[:, 0])
    table.to_csv(tmp_path / "discs.csv", index=False)
    out = tmp_path / "p.npz"
    args = ["patches", str(tmp_path / "discs.npy"), "--points", str(tmp_path / "discs.csv")]
    assert main([*args, "--out", str(out)]) == 0
    cli = load_patches(out)
    assert cli.patches.shape == widget.patches.shape == (25, *widget.patches.shape[1:])
    assert cli.normalization["mode"] == widget.normalization["mode"] == "global"
    np.testing.assert_allclose(cli.patches, widget.patches, atol=1e-5)


def test_grid_patches_take_the_spacing_measured_on_their_own_image(viewer, qtbot):
    """'Estimate spacing' on a lattice (8 px): that lattice's grid patches are two spacings
    (16 px); another image's grid patches do not take it (its own spacing is measured)."""
    lattice = viewer.add_image(np.asarray(_lattice_image()), name="lat")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    detect.image.value = lattice
    assert detect.estimate_spacing() == pytest.approx(8.0, rel=0.15)
    patches.source.value = "grid"
    patches.image.value = viewer.add_image(_discs(), name="discs")
    assert patches.extract().patches.shape[1] != 16
    assert "the lattice spacing measured on it" not in patches.status.value
    patches.image.value = lattice
    assert patches.extract().patches.shape[1] == 16
    assert "the lattice spacing measured on it" in patches.status.value


def _lattice_image():
    from napari_ivae.core.synthetic.lattice import make_lattice

    return make_lattice((96, 96), spacing=8.0, domains=2, seed=1).image


def _nine_spots():
    yy, xx = np.mgrid[:64, :64]
    image = np.zeros((64, 64), np.float32)
    for r in (20, 32, 44):
        for c in (20, 32, 44):
            image += np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 2.0**2))
    return image + np.random.default_rng(0).normal(0, 0.02, image.shape).astype(np.float32)


def test_detect_warnings_name_the_widgets_controls_not_command_line_options(viewer, qtbot):
    """Nine atoms: the self-check's amber line names 'spacing (px)' and the checkbox, as the
    dock spells them (the core's warnings name --spacing and --keep-non-crystal)."""
    layer = viewer.add_image(_nine_spots(), name="nine")
    detect = open_widget(viewer, "Detect")
    _detect(viewer, detect, layer, "atoms", qtbot)
    status = detect.status.value
    assert "Only 9 atoms" in status and "#ffb347" in detect.status.native.styleSheet(), status
    assert "check the spacing ('spacing (px)')" in status
    assert "('keep peaks outside the crystal')" in status
    assert "--" not in status and "crystal_only" not in status


def test_atoms_without_a_lattice_suggest_particles(viewer, qtbot):
    """40 discs at random places, asked as atoms (the default): no lattice periodicity, and
    the warning points to 'find: particles'."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:200, :200]
    image = np.zeros((200, 200), np.float32)
    for row, col in rng.uniform(10, 190, (40, 2)):
        image[(yy - row) ** 2 + (xx - col) ** 2 <= 5**2] = 1.0
    layer = viewer.add_image(image + rng.normal(0, 0.1, image.shape).astype(np.float32))
    detect = open_widget(viewer, "Detect")
    _detect(viewer, detect, layer, "atoms", qtbot)
    status = detect.status.value
    assert "No lattice periodicity" in status, status
    assert status.endswith("choose 'find: particles'.")
    detect.spacing.value = 15.0  # a spacing given: the user means atoms
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    assert "spacing 15.00 px" in detect.status.value
    assert "find: particles" not in detect.status.value


def test_atoms_failing_on_the_spacing_suggest_particles(viewer, qtbot, monkeypatch):
    """Atoms asked of a particle image (the default mode): the core's spacing error, in the
    widget's words, and a pointer to 'find: particles'."""
    from napari_ivae._widgets import detect_run
    from napari_ivae.core.errors import InputError

    def fails(*args, **kwargs):
        raise InputError(
            "The estimated spacing (1.84 px) is below 2.0 px: the image looks like noise. "
            "Give the spacing explicitly."
        )

    monkeypatch.setattr(detect_run, "run_detection", fails)  # the worker's detection
    layer = viewer.add_image(_discs(), name="discs")
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    status = detect.status.value
    assert is_error(detect.status)
    assert "Give the spacing explicitly ('spacing (px)')" in status, status
    assert "choose 'find: particles'" in status


def test_particles_of_the_wrong_polarity_get_the_command_lines_contrast_warning(viewer, qtbot):
    """Bright discs looked for as dark particles: the widget warns, as the command line does,
    that they barely stand out, naming the other polarity."""
    layer = viewer.add_image(_discs(), name="discs")
    detect = open_widget(viewer, "Detect")
    detect.polarity.value = "dark"
    _detect(viewer, detect, layer, "particles", qtbot)
    status = detect.status.value
    assert "barely stand out from the background" in status, status
    assert "('polarity' bright)" in status and "--polarity" not in status
    assert "#ffb347" in detect.status.native.styleSheet()


def test_no_particles_in_noise_is_said_in_the_widgets_words(viewer, qtbot):
    layer = viewer.add_image(
        np.random.default_rng(3).normal(0, 1, (200, 200)).astype(np.float32), name="noise"
    )
    detect = open_widget(viewer, "Detect")
    detect.image.value = layer
    detect.mode.value = "particles"
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=30000)
    status = detect.status.value
    assert status.startswith("No particles found"), status  # not "ValueError: ..."
    assert "threshold 'auto', polarity 'auto'" in status
    assert "min_size" not in status and "method=" not in status


def test_particle_patches_keep_their_size_so_their_maps_stay_on_them(viewer, qtbot):
    """QA: the Results dock's maps of particles reached 1.5 neighbour distances and coloured
    the support. The dock's particle patches record each particle's diameter, and a map
    painted from them reaches 1.5 of its radius; an atom lattice's patches record none."""
    from napari_ivae._widgets._writer import value_map

    layer = viewer.add_image(_discs(), name="discs")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    _detect(viewer, detect, layer, "particles", qtbot)
    patches.image.value, patches.points.value = layer, viewer.layers["discs particles [ivae]"]
    patchset = patches.extract()
    assert patchset.particle_diameter.shape == (len(patchset),)
    assert 17 < np.median(patchset.particle_diameter) < 22  # discs of radius 10
    covered = np.isfinite(value_map(np.ones(len(patchset)), patchset)).mean()
    assert 25 * np.pi * 10**2 / layer.data.size < covered < 0.45  # discs of ~15 px, not all
    lattice = viewer.add_image(np.asarray(_lattice_image()), name="lat")
    _detect(viewer, detect, lattice, "atoms", qtbot)
    patches.image.value, patches.points.value = lattice, viewer.layers["lat atoms [ivae]"]
    assert patches.extract().particle_diameter is None


def test_detecting_the_other_kind_hides_the_first_and_patches_follow_it(viewer, qtbot):
    """A stranger's session: Detect with the default 'atoms' on a particle image (hundreds of
    points on the support, and the hint to choose particles), then 'particles'. The atoms layer
    stays (nothing is removed) but is hidden, the status says so, and the Patches dock, open
    from the start, cuts at the particles, not at the atoms it had picked first."""
    layer = viewer.add_image(_discs(), name="discs")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    patches.image.value = layer
    detect.image.value = layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    atoms = viewer.layers["discs atoms [ivae]"]
    assert patches.points.value is atoms
    _detect(viewer, detect, layer, "particles", qtbot)
    particles = viewer.layers["discs particles [ivae]"]
    assert atoms in viewer.layers and not atoms.visible and particles.visible
    assert "'discs atoms [ivae]' hidden" in detect.status.value, detect.status.value
    assert patches.points.value is particles
    _detect(viewer, detect, layer, "atoms", qtbot)  # and back: the particles' layers hidden
    assert atoms.visible and not particles.visible
    assert not viewer.layers["discs particle labels [ivae]"].visible
    assert patches.points.value is atoms


def test_renaming_the_image_keeps_its_detections_paired_with_it(viewer, qtbot):
    """A stranger renames the image after Detect: the Patches dock found no points ("run
    Detect first") and a second Detect added a second layer beside the first. Now the results
    follow the new name, patches are cut at them, and Detect updates its own layer."""
    from napari_ivae.core.synthetic.lattice import make_lattice

    layer = viewer.add_image(make_lattice((128, 128), spacing=8.0, seed=0).image, name="lat")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    _detect(viewer, detect, layer, "atoms", qtbot)
    points = viewer.layers["lat atoms [ivae]"]
    layer.name = "my lattice"
    assert points.name == "my lattice atoms [ivae]"
    assert points.metadata["napari_ivae"]["source"] == "my lattice"
    patches.image.value = layer
    assert patches.points.value is points
    assert patches.extract() is not None, patches.status.value
    n_layers = len(viewer.layers)
    _detect(viewer, detect, layer, "atoms", qtbot)
    assert len(viewer.layers) == n_layers and viewer.layers["my lattice atoms [ivae]"] is points
    points.name = "mine"  # a result renamed by the user: nothing else changes
    assert layer.name == "my lattice" and points.metadata["napari_ivae"]["source"] == "my lattice"


def test_patches_follow_a_new_detection_over_a_users_points_layer(viewer, qtbot):
    """A microscopist's session: a Points layer of their own notes (two points) on the image,
    the docks opened, then Detect. The Patches dock had picked the notes (the only Points
    layer then) and kept them after Detect, so Extract cut 2 patches at the notes ("all 2
    patches cross the border") instead of at the 25 particles just found. The new detection
    is now picked; a Points layer the user picks after it stays picked when Detect re-runs."""
    layer = viewer.add_image(_discs(), name="discs")
    notes = viewer.add_points(np.array([[5.0, 5.0], [8.0, 9.0]]), name="my notes")
    detect, patches = open_widget(viewer, "Detect"), open_widget(viewer, "Patches and labels")
    patches.image.value = layer
    assert patches.points.value is notes  # nothing detected yet: the user's layer
    _detect(viewer, detect, layer, "particles", qtbot)
    particles = viewer.layers["discs particles [ivae]"]
    assert patches.points.value is particles
    assert len(patches.extract()) == 25, patches.status.value
    patches.points.value = notes  # the user's own choice after the detection
    _detect(viewer, detect, layer, "particles", qtbot)  # re-run: the same layer, updated
    assert patches.points.value is notes


def test_grid_patches_without_detect_are_two_spacings_measured_on_the_image(viewer, qtbot):
    """A microscopist's session: the lattice sample, grid patches at once (no Detect). The
    dock cut 32 px patches "(auto: no spacing known)" and then said the grid was registered
    on the lattice of spacing 12.0 px; `napari-ivae patches --grid` measures the spacing on
    the image and cuts two spacings (24 px). The dock now does the same, in its worker, and
    says so; the automatic stride is a quarter of that size."""
    lattice = viewer.add_image(np.asarray(_lattice_image()), name="lat")  # spacing 8 px
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value = lattice
    patches.source.value = "grid"
    patches.extract_button.clicked.emit()  # in the worker, as from the button
    qtbot.waitUntil(lambda: not patches.busy, timeout=60000)
    assert not is_error(patches.status), patches.status.value
    patchset = get_session(viewer).patchset
    assert patchset.patches.shape[1:] == (16, 16)
    assert get_session(viewer).patch_params["stride"] == 4
    assert "px, the lattice spacing measured on the image" in patches.status.value
    patches.size.value = 20  # a size given is used as it is
    assert patches.extract().patches.shape[1:] == (20, 20)


def test_the_auto_spin_boxes_show_the_values_chosen(viewer, lattice_layer, qtbot):
    """Left at auto, 'spacing (px)' and 'smoothing σ' say what the detection chose
    ("auto (8.0)"; they said "auto"), a value given is shown as it is, and another image
    brings back plain "auto"."""
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    _detected(detect, qtbot)
    meta = viewer.layers["lat atoms [ivae]"].metadata["napari_ivae"]
    assert detect.spacing.native.specialValueText() == f"auto ({meta['spacing']:.1f})"
    assert detect.sigma.native.specialValueText() == f"auto ({meta['sigma']:.1f})"
    assert detect.spacing.native.text() == detect.spacing.native.specialValueText()
    detect.spacing.value = 9.0
    _detected(detect, qtbot)
    assert detect.spacing.native.text().startswith("9")
    assert detect.sigma.native.specialValueText().startswith("auto (")
    viewer.add_image(np.zeros((32, 32)), name="other")
    detect.image.value = viewer.layers["other"]
    assert detect.sigma.native.specialValueText() == "auto"
