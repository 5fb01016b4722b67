"""Make the documentation's screenshots from headless runs of the demo workflows.

    python docs/screenshots.py [--workflows atoms_rvae cards_ss_rvae cards_unsupervised
                                cards_joint lattice_shift_vae grid_search_stm grid_physics_pto
                                grid_physics_cspbbr3]

Each demo workflow runs ``napari-ivae demo --headless`` in a fresh process (its own virtual
display), then the window screenshot is shrunk and palette-compressed into
``docs/images/<workflow>.png`` so the committed pictures stay small. Seeds are fixed (0).

``cards_ss_rvae`` shows the model of the published cards protocol
(``benchmarks/ss_cards.py --published --threads 1 --models ss-rvae --save``, seed 0, defaults; trained
here first unless ``--cards-model`` gives such a file), loaded in Results on the cards
sample, so the picture shows the published model's classes (the demo's own 300 + 200 steps on
240 cards are judged 32/32 too, docs/tutorials/cards_ss_rvae.md). The class
traversal in the picture is scored by the independent judge (``judge_suits``): the suit it
recognises in each image is printed, with the share matched to its row.

``cards_joint`` (docs/tutorials/cards_unsupervised.md) is the demo's joint rVAE on the cards
sample (no labels, 4 classes, its defaults); its class traversal is judged the same way, each
row against the true suit most of that class's cards carry (the model the demo saved, on the
sample's cards, :func:`judge_joint`).

``grid_search_stm`` (docs/tutorials/grid_shift_vae.md) is a real image: the SPIEPy STM
topograph ``../shared/data/atoms/stm_spiepy/image_with_defects.npy`` (BSD-2-Clause, read
where it lies, never copied). In a fresh process with its own virtual display it cuts grid
patches (two measured spacings, stride a quarter), then runs the Train widget's beta(t)
search with the shift-VAE defaults (beta 0.1 -> 1, 30 epochs, seed 0) and the map smoothness
lambda 0 and 1 (two processes), and shows the image and both runs' scored z maps side by
side (napari's grid view) with the search's summary in the Train tab.

``grid_physics_pto`` (docs/tutorials/grid_shift_vae.md, "The physics term") is the PbTiO3 film
on its SrRuO3 substrate: the left 224 x 448 px of the TEMUL HAADF image
``../shared/data/atoms/stem_pto_sro_temul/pto_sro.npy`` (GPL-3.0, read where it lies, never
copied; ``benchmarks/grid.py``'s ``pto-left``). The same grid patches, then the Train
widget's search with the shift-VAE defaults (beta 0.1 -> 1, 30 epochs, seed 0) and the map
smoothness lambda 0 and 1 (the term's defaults: scale-free TV on z1 only, so both runs are
scored and segmented on z1). Each run's z1 map is segmented by Otsu (as the Results widget's
*Segment* does); the picture shows, for lambda 0 (top) and 1 (bottom), the image under its
segmentation and the z1 map under the segmentation's outline (napari's grid view, two layers
per panel). ``grid_physics_cspbbr3`` is the same on the whole CsPbBr3 low-dose HAADF image
``../shared/data/atoms/stem_cspbbr3_statstem/cspbbr3.npy`` (read where it lies, never copied;
``benchmarks/grid.py``'s ``cspbbr3``) with lambda 0 and 2. The three grid workflows are
skipped when ../shared is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKFLOWS = (
    "atoms_rvae",
    "cards_ss_rvae",
    "cards_unsupervised",
    "cards_joint",
    "lattice_shift_vae",
    "grid_search_stm",
    "grid_physics_pto",
    "grid_physics_cspbbr3",
)
MAX_SIDE = 1100
BENCHMARK = HERE.parent / "benchmarks" / "ss_cards.py"
STM = HERE.parents[1] / "shared" / "data" / "atoms" / "stm_spiepy" / "image_with_defects.npy"
PTO = HERE.parents[1] / "shared" / "data" / "atoms" / "stem_pto_sro_temul" / "pto_sro.npy"
PTO_CROP = (slice(0, 224), slice(0, 448))  # benchmarks/grid.py's "pto-left"
CSPBBR3 = HERE.parents[1] / "shared" / "data" / "atoms" / "stem_cspbbr3_statstem" / "cspbbr3.npy"
# the physics-term workflows: image file, crop, layer name, title, the lambdas searched
PHYSICS = {
    "grid_physics_pto": (
        PTO,
        PTO_CROP,
        "PTO-SRO",
        "napari-ivae: the physics term on PbTiO3/SrRuO3",
        "0, 1",
    ),
    "grid_physics_cspbbr3": (
        CSPBBR3,
        (...,),
        "CsPbBr3",
        "napari-ivae: the physics term on CsPbBr3",
        "0, 2",
    ),
}


def shrink(src: Path, dst: Path, max_side: int = MAX_SIDE) -> int:
    """Downscale and palette-quantise a PNG; returns the size in bytes."""
    from PIL import Image

    with Image.open(src) as image:
        image = image.convert("RGB")
        image.thumbnail((max_side, max_side), Image.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(dst, optimize=True)
    return dst.stat().st_size


def judge_traversal(image) -> dict:
    """The judge's suit for each image of a cards class traversal (one row per class, 8
    images of the cards' size), and the share matched to its row."""
    import numpy as np

    from napari_ivae._sample_data import CARD_SIZE
    from napari_ivae.core.analysis.metrics import judge_suits
    from napari_ivae.core.synthetic.cards import CARD_CLASSES

    image = np.asarray(image, dtype=np.float32)
    k, s = len(CARD_CLASSES), CARD_SIZE
    n = image.shape[1] // s
    tiles = image.reshape(k, s, n, s).transpose(0, 2, 1, 3).reshape(k * n, s, s)
    judged = judge_suits(tiles).reshape(k, n)
    return {
        "match": float((judged == np.arange(k)[:, None]).mean()),
        "rows": {name: [CARD_CLASSES[j] for j in row] for name, row in zip(CARD_CLASSES, judged)},
    }


def judge_joint(out: Path) -> dict:
    """The judge's suit for each image of the class traversal of the joint rVAE the demo saved
    in ``out`` (``model.ivae.pt``; one row per class, as Results draws it: each over its own
    cards' codes), and the share matched to the suit most of that class's cards carry."""
    import numpy as np

    from napari_ivae._sample_data import CARD_SIZE, cards_mosaic
    from napari_ivae.core.analysis.metrics import judge_suits
    from napari_ivae.core.models.inference import class_latent_ranges, class_traversal, encode
    from napari_ivae.core.models.persistence import load_model
    from napari_ivae.core.synthetic.cards import CARD_CLASSES

    model = load_model(out / "model.ivae.pt", device="cpu").model
    mosaic, centres, truth = cards_mosaic()
    s, k = CARD_SIZE, model.config.n_classes
    patches = np.stack(
        [mosaic[r - s // 2 : r + s // 2, c - s // 2 : c + s // 2] for r, c in centres.astype(int)]
    ).astype(np.float32)
    encoding = encode(model, patches)
    own = encoding.class_prob.argmax(1)
    suits = truth["suit_index"].to_numpy()
    want = np.array([np.bincount(suits[own == j], minlength=4).argmax() for j in range(k)])
    ranges = class_latent_ranges(encoding.z_mean, own, k)
    image = class_traversal(model, n=8, ranges=ranges)
    tiles = image.reshape(k, s, 8, s).transpose(0, 2, 1, 3).reshape(k * 8, s, s)
    judged = judge_suits(tiles).reshape(k, 8)
    return {
        "match": float((judged == want[:, None]).mean()),
        "classes_matched": float(np.mean(want[own] == suits)),
        "rows": {
            f"class {j + 1} ({CARD_CLASSES[want[j]]})": [CARD_CLASSES[i] for i in judged[j]]
            for j in range(k)
        },
    }


def cards_ss_rvae(out: Path, model: Path) -> dict:
    """The cards sample in napari with the benchmark's ss-rVAE loaded in Results: patches at
    the card centres, classes and maps written, the class traversal shown; writes
    ``out / "screenshot.png"`` and ``out / "summary.json"`` and returns the summary."""
    import napari
    from napari.layers import Image, Points, Shapes

    from napari_ivae.cli._demo import _DISPLAYS, start_virtual_display
    from napari_ivae.demo import arrange_view, dock_widgets, screenshot

    _DISPLAYS.append(start_virtual_display())
    os.environ.pop("QT_QPA_PLATFORM", None)
    viewer = napari.Viewer(title="napari-ivae demo", show=True)
    try:
        viewer.open_sample("napari-ivae", "cards")
        widgets = dock_widgets(viewer)
        patches, results = widgets["Patches and labels"], widgets["Results"]
        patches.image.value = next(x for x in viewer.layers if isinstance(x, Image))
        patches.source.value = "points"
        patches.points.reset_choices()
        patches.points.value = next(x for x in viewer.layers if isinstance(x, Points))
        patches.shapes.value = next(x for x in viewer.layers if isinstance(x, Shapes))
        if patches.extract() is None:
            raise RuntimeError(patches.status.value)
        results.model_file.value = str(model)
        if results.load() is None or not results.write():
            raise RuntimeError(results.status.value)
        traversal = results.show_manifold()
        if traversal is None:
            raise RuntimeError(results.status.value)
        results.colour_by.reset_choices()
        if "ivae_class" in results.colour_by.choices:
            results.colour_by.value = "ivae_class"
        arrange_view(viewer, "cards_ss_rvae")
        shot = screenshot(viewer, out / "screenshot.png")
        summary = {
            "train": f"loaded {model.name}: {results.status.value}",
            "confusion": results.confusion.value,
            "traversal_judged": judge_traversal(traversal.data),
            "screenshot": str(shot),
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary
    finally:
        viewer.close()


def _grid_search_in_napari(
    image, name: str, title: str, epochs: int, designated: bool, lambdas: str = "0, 1"
):
    """Open napari on ``image``, cut its registered grid patches (two measured spacings, stride
    a quarter) and run the Train widget's search over beta 0.1 -> 1 x ``lambdas`` in two
    processes; returns ``(viewer, layer, patches, train, result)`` (the caller closes the
    viewer). ``designated`` sets the term's defaults explicitly (z1 the phase map)."""
    import napari

    from napari_ivae.cli._demo import _DISPLAYS, start_virtual_display
    from napari_ivae.core.detection.spacing import estimate_spacing
    from napari_ivae.demo import dock_widgets, process_events_until, still_activity_indicator

    _DISPLAYS.append(start_virtual_display())
    os.environ.pop("QT_QPA_PLATFORM", None)
    viewer = napari.Viewer(title=title, show=True)
    still_activity_indicator(viewer)  # animated under Xvfb, it costs the runs' CPU
    try:
        layer = viewer.add_image(image, name=name, colormap="gray")
        widgets = dock_widgets(viewer)
        patches, train = widgets["Patches and labels"], widgets["Train"]
        patches.image.value = layer
        patches.source.value = "grid"
        patches.size.value = int(max(8, 2 * round(estimate_spacing(image))))
        patches.stride.value = 0  # a quarter of the patch
        if patches.extract() is None:
            raise RuntimeError(patches.status.value)
        train.kind.value = "shift-vae"  # its defaults: beta 0.1 -> 1 over 15 of 30 epochs
        train.seed.value = 0
        train.epochs.value = epochs
        train.write_maps.value = False
        if designated:
            train.smoothness_latents.value = 1  # the defaults, said: z1 is the phase map
            train.smoothness_form.value = "tv-relative"
        train.search.beta_starts.value = "0.1"
        train.search.beta_ends.value = "1"
        train.search.lambdas.value = lambdas
        train.search.workers.value = 2
        if train.search.start() is None:
            raise RuntimeError(train.status.value)
        process_events_until(lambda: not train.busy, 3600)
        result = train.search.result
        if result is None or result.best is None:
            raise RuntimeError(train.status.value)
    except BaseException:
        viewer.close()
        raise
    return viewer, layer, patches, train, result


def _search_summary(out: Path, train, result, patches, segmentations, shot) -> dict:
    """A grid workflow's summary (the search's status and runs, the segmentations, the
    patches, the screenshot), written to ``out / "summary.json"`` and returned."""
    summary = {
        "status": train.status.value,
        "runs": result.table(),
        "segmentations": segmentations,
        "patches": patches.status.value,
        "screenshot": str(shot),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def grid_search_stm(out: Path, epochs: int = 30) -> dict:
    """Run the beta(t) search (lambda 0 and 1) on the STM topograph in napari; write
    ``out / "screenshot.png"`` and ``out / "summary.json"``; returns the summary."""
    import numpy as np

    from napari_ivae._widgets._session import get_session
    from napari_ivae.demo import screenshot, show_tab

    image = np.load(STM).astype(np.float32)
    viewer, layer, patches, train, result = _grid_search_in_napari(
        image, "stm", "napari-ivae: beta(t) search on an STM topograph", epochs, designated=False
    )
    try:
        roles = {"search_run1_map", "search_run2_map"}
        for other in viewer.layers:
            role = other.metadata.get("napari_ivae", {}).get("role")
            other.visible = other is layer or role in roles
            if role in roles:
                other.opacity, other.blending = 1.0, "opaque"
        viewer.canvas.grid.enabled = True
        show_tab(viewer, "Train")
        train.sections["β(t) search (grid patches)"].expand(animate=False)
        shot = screenshot(viewer, out / "screenshot.png")
        segmentations = _segment_edges(result, get_session(viewer).patchset)
        return _search_summary(out, train, result, patches, segmentations, shot)
    finally:
        viewer.close()


def grid_physics(out: Path, workflow: str, epochs: int = 30) -> dict:
    """The search over lambda 0 and the workflow's lambda (z1 designated) on a real image in
    napari (``PHYSICS[workflow]``), each run's z1 segmented; write ``out / "screenshot.png"``
    and ``out / "summary.json"``."""
    import numpy as np

    from napari_ivae._widgets._session import get_session
    from napari_ivae.core.analysis.maps import grid_map
    from napari_ivae.core.analysis.segmentation import edge_length, segment_map
    from napari_ivae.demo import screenshot, show_tab

    path, crop, title_name, title, lambdas = PHYSICS[workflow]
    image = np.ascontiguousarray(np.load(path)[crop], dtype=np.float32)
    viewer, layer, patches, train, result = _grid_search_in_napari(
        image, title_name, title, epochs, designated=True, lambdas=lambdas
    )
    try:
        patchset = get_session(viewer).patchset
        by_lambda = {result.runs[i].smoothness: i for i in result.maps}
        runs, panels = [], []
        for lam in sorted(by_lambda):
            index = by_lambda[lam]
            run = result.runs[index]
            z1 = grid_map(np.asarray(result.maps[index][0]).reshape(-1), patchset)
            labels = segment_map(z1, method="otsu", n_classes=2).astype(np.int32)
            walls = np.where(labels > 0, labels, np.nan).astype(np.float32)
            seg_edge = float(edge_length(walls, denoise=False))
            runs.append(
                {
                    "run": run.label(),
                    "lambda": lam,
                    "scored_map": f"z{run.map_index + 1}",
                    "z1_edge_px": float(edge_length(z1)),
                    "segment_edge_px": seg_edge,
                    "recon": run.recon,
                    "seconds": run.seconds,
                }
            )
            name = f"λ {lam:g}"
            finite = z1[np.isfinite(z1)]
            low, high = np.percentile(finite, [1, 99])
            panels += [
                viewer.add_image(image, name=f"{title_name} ({name})", colormap="gray"),
                viewer.add_labels(labels, name=f"segmentation of z1, {name}", opacity=0.35),
                viewer.add_image(
                    z1,
                    name=f"z1, {name}",
                    colormap="viridis",
                    contrast_limits=(float(low), float(high) if high > low else float(low) + 1),
                ),
                viewer.add_labels(labels, name=f"outline, {name}", opacity=1.0),
            ]
            panels[-1].contour = 2
        for other in viewer.layers:
            other.visible = other in panels
        for position, one in enumerate(panels):  # two layers per panel, in this order
            viewer.layers.move(viewer.layers.index(one), position)
        grid = viewer.canvas.grid
        grid.stride, grid.shape, grid.enabled = 2, (2, 2), True
        show_tab(viewer, "Train")
        train.sections["advanced"].expand(animate=False)
        # a wide window for a 2:1 crop, so that the four panels fill the canvas
        wide = image.shape[1] > 1.5 * image.shape[0]
        shot = screenshot(
            viewer, out / "screenshot.png", size=(2200, 1000) if wide else (1800, 1150)
        )
        return _search_summary(out, train, result, patches, runs, shot)
    finally:
        viewer.close()


def _segment_edges(result, patchset) -> list[dict]:
    """As ``benchmarks/grid.py`` scores a row: each kept run's z maps painted on the image,
    the one the search scored (z1 when the smoothness term designates it, else the active one
    with the lowest edge length) segmented by Otsu, the segmentation's edge length over the
    pixels with data."""
    import numpy as np

    from napari_ivae.core.analysis.maps import grid_map
    from napari_ivae.core.analysis.segmentation import edge_length, segment_map

    rows = []
    for index, z_maps in sorted(result.maps.items()):
        maps = [grid_map(np.asarray(z).reshape(-1), patchset) for z in z_maps]
        edges = [edge_length(m) for m in maps]
        best = result.runs[index].map_index
        labels = segment_map(maps[best], method="otsu", n_classes=2)
        walls = np.where(labels > 0, labels, np.nan).astype(np.float32)
        rows.append(
            {
                "run": result.runs[index].label(),
                "map_edges": edges,
                "segmented_map": f"z{best + 1}",
                "segment_edge": edge_length(walls, denoise=False),
                "recon": result.runs[index].recon,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", nargs="+", default=list(WORKFLOWS), choices=WORKFLOWS)
    parser.add_argument("--out", type=Path, default=HERE / "images")
    parser.add_argument("--inner", type=Path, help=argparse.SUPPRESS)  # a grid workflow's run
    parser.add_argument("--inner-workflow", default="grid_search_stm", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=30, help=argparse.SUPPRESS)  # smoke runs
    parser.add_argument(
        "--cards-model",
        type=Path,
        help="an ss-rVAE saved by benchmarks/ss_cards.py --published --models ss-rvae --save "
        "(default: train one first, a few minutes)",
    )
    parser.add_argument("--inner-cards", type=Path, help=argparse.SUPPRESS)  # its napari run
    args = parser.parse_args(argv)
    if args.inner is not None:
        if args.inner_cards is not None:
            cards_ss_rvae(args.inner, args.inner_cards)
        elif args.inner_workflow in PHYSICS:
            grid_physics(args.inner, args.inner_workflow, args.epochs)
        else:
            grid_search_stm(args.inner, args.epochs)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for workflow in args.workflows:
        needs = {"grid_search_stm": STM, **{k: v[0] for k, v in PHYSICS.items()}}.get(workflow)
        if needs is not None and not needs.is_file():
            print(f"{workflow}: {needs} not found, skipped", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                "-m",
                "napari_ivae.cli",
                "demo",
                "--headless",
                "--workflow",
                workflow,
                "--out",
                tmp,
            ]
            inner = [sys.executable, str(Path(__file__).resolve()), "--inner", tmp]
            if workflow == "cards_ss_rvae":
                model = args.cards_model or Path(tmp) / "ss_rvae_published.pt"
                if args.cards_model is None:
                    bench = [
                        sys.executable,
                        str(BENCHMARK),
                        "--published",
                        "--threads",
                        "1",
                        "--models",
                    ]
                    subprocess.run([*bench, "ss-rvae", "--save", str(model)], check=True)
                cmd = [*inner, "--inner-cards", str(model.resolve())]
            elif workflow == "grid_search_stm" or workflow in PHYSICS:
                cmd = [*inner, "--epochs", str(args.epochs), "--inner-workflow", workflow]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
                return run.returncode
            summary = json.loads((Path(tmp) / "summary.json").read_text())
            if workflow == "cards_joint":
                summary["traversal_judged"] = judge_joint(Path(tmp))
            size = shrink(Path(tmp) / "screenshot.png", args.out / f"{workflow}.png")
            judged = summary.get("traversal_judged")
        print(
            f"{workflow}: {args.out / (workflow + '.png')} ({size / 1024:.0f} KB); "
            f"{summary.get('train', summary.get('status', ''))}"
        )
        if judged is not None:
            print(f"  class traversal judged {judged['match']:.3f} (judge's suit per image):")
            for name, row in judged["rows"].items():
                print(f"  {name:10s} {' '.join(suit[:2] for suit in row)}")
        report[workflow] = {
            "png_kb": round(size / 1024),
            "seconds": summary.get("seconds"),
            "train": summary.get("train", summary.get("status")),
            "runs": summary.get("runs"),
            "segmentations": summary.get("segmentations"),
            "confusion": summary.get("confusion"),
            "traversal_judged": judged,
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
