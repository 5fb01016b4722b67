"""`napari-ivae search` and `napari-ivae train --smoothness`: outputs, refusals, one-line errors."""

import json
import math

import numpy as np
import pytest

from napari_ivae.cli import main
from napari_ivae.core.analysis.search import EDGE_RESOLUTION
from napari_ivae.core.models.persistence import load_model


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    from napari_ivae.core.patches.cutting import grid_patches
    from napari_ivae.core.synthetic.lattice import make_lattice

    root = tmp_path_factory.mktemp("search")
    lattice = make_lattice((72, 72), spacing=12.0, domains=2, seed=0)
    patchset = grid_patches(lattice.image, 16, 8, normalize="global")
    np.savez(
        root / "grid.npz", patches=patchset.patches, grid_shape=np.asarray(patchset.grid_shape)
    )
    np.savez(root / "points.npz", patches=patchset.patches)  # no grid_shape
    return root


def test_search_writes_table_heatmap_model_and_maps(grid_file, capsys):
    out = grid_file / "run"
    args = [
        "search",
        "--patches",
        str(grid_file / "grid.npz"),
        "--out",
        str(out),
        "--beta-start",
        "0.1,1",
        "--beta-end",
        "1,4",
        "--epochs",
        "1",
        "--workers",
        "2",
        "--quiet",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "chosen: beta" in printed and "edge length" in printed
    assert "segmentation of z" in printed  # the domains and how clean their walls are
    report = json.loads((out / "search.json").read_text())
    assert len(report["runs"]) == 4 and report["summary"] in printed
    chosen = report["runs"][report["chosen"]]
    assert chosen["chosen"] and not chosen["collapsed"]
    alive = [run["edge"] for run in report["runs"] if not run["collapsed"]]
    assert chosen["edge"] <= min(alive) + EDGE_RESOLUTION  # the smoothest, ties within a cell
    assert (out / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "search.csv").read_text().count("\n") == 5
    maps = np.load(out / "best_maps.npz")
    assert maps["segmentation"].shape == tuple(maps["grid_shape"])
    assert float(maps["segmentation_edge"]) >= 0
    bundle = load_model(out / "best.ivae.pt")
    assert bundle.config.kind == "shift-vae"
    # a second search into the same folder keeps the results unless --force is given
    before = (out / "search.json").read_bytes()
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "search.json").read_bytes() == before


def test_search_passes_the_terms_form_and_designated_latents_to_each_run(grid_file, capsys):
    out = grid_file / "search_terms"
    args = [
        "search",
        "--patches",
        str(grid_file / "grid.npz"),
        "--out",
        str(out),
        "--beta-start",
        "1",
        "--beta-end",
        "1",
        "--smoothness",
        "0.5",
        "--epochs",
        "1",
        "--workers",
        "1",
    ]
    assert main([*args, "--smoothness-form", "gmrf", "--smoothness-latents", "0"]) == 0
    assert "the term gmrf on every z" in capsys.readouterr().err
    config = load_model(out / "best.ivae.pt").train_config
    assert (config.smoothness, config.smoothness_form, config.smoothness_latents) == (
        0.5,
        "gmrf",
        0,
    )
    assert main([*args, "--force"]) == 0  # the defaults: scale-free TV on z1, z1 scored
    assert "the term tv-relative on z1, every run scored on z1" in capsys.readouterr().err
    config = load_model(out / "best.ivae.pt").train_config
    assert (config.smoothness_form, config.smoothness_latents) == ("tv-relative", 1)
    report = json.loads((out / "search.json").read_text())
    assert report["runs"][0]["map_index"] == 0 and "z1" in report["segmentation"]
    assert main([*args, "--force", "--smoothness-latents", "-1"]) == 2
    assert "--smoothness-latents" in capsys.readouterr().err


def test_search_refuses_non_grid_patches_and_bad_lists(grid_file, capsys):
    base = ["search", "--out", str(grid_file / "bad")]
    assert main([*base, "--patches", str(grid_file / "points.npz")]) == 2
    err = capsys.readouterr().err
    assert "grid_shape" in err and "--grid" in err and err.count("\n") == 1
    assert main([*base, "--patches", str(grid_file / "grid.npz"), "--beta-end", "1,x"]) == 2
    assert "--beta-end" in capsys.readouterr().err
    assert main([*base, "--patches", str(grid_file / "grid.npz"), "--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err
    assert not (grid_file / "bad").exists()


def test_train_smoothness_uses_the_grid_of_the_patches_file(grid_file, capsys):
    out = grid_file / "smooth.ivae.pt"
    args = [
        "train",
        "--model",
        "shift-vae",
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--quiet",
        "--out",
        str(out),
        "--smoothness",
        "0.5",
        "--smoothness-form",
        "tv-relative",
        "--smoothness-latents",
        "1",
    ]
    assert main([*args, "--patches", str(grid_file / "grid.npz")]) == 0
    bundle = load_model(out)
    assert bundle.train_config.smoothness == 0.5
    assert bundle.train_config.smoothness_form == "tv-relative"
    assert bundle.train_config.smoothness_latents == 1
    assert (
        "roughness" in bundle.metadata["history"][-1]
    )  # the term was on: each tile encoded beside its grid neighbours
    capsys.readouterr()
    assert main([*args, "--patches", str(grid_file / "points.npz")]) == 2
    assert "grid_shape" in capsys.readouterr().err


def test_force_removes_the_earlier_model_when_no_run_is_chosen(grid_file, capsys, monkeypatch):
    """Every run collapsed: no model, no maps. With --force an earlier search's best.ivae.pt and
    best_maps.npz stayed beside the new table that chose nothing, read as this run's."""
    import napari_ivae.core.analysis.search as search

    def collapsed(z_maps, designated=0):
        return {"edge": math.nan, "fourier": math.nan, "map_index": -1, "active": 0}

    monkeypatch.setattr(search, "score_maps", collapsed)  # forked workers inherit it
    out = grid_file / "earlier"
    out.mkdir()
    for name in ("best.ivae.pt", "best_maps.npz", "search.csv"):
        (out / name).write_text(f"earlier {name}")
    args = ["search", "--patches", str(grid_file / "grid.npz"), "--out", str(out),
            "--beta-start", "1", "--beta-end", "1", "--epochs", "1", "--workers", "1", "--force"]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert json.loads((out / "search.json").read_text())["chosen"] is None
    assert (out / "search.csv").read_text() != "earlier search.csv"
    assert not (out / "best.ivae.pt").exists() and not (out / "best_maps.npz").exists()
    assert "removed the earlier best.ivae.pt, best_maps.npz" in err
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no staging left
