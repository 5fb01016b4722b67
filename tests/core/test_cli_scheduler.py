"""``--scheduler tcp://...`` on the command line, against a running dask cluster (issue 12:
the README's `batch ... --scheduler tcp://scheduler-host:8786`)."""

import numpy as np
import pytest

from napari_ivae.cli import main
from napari_ivae.core.synthetic.cards import make_cards
from napari_ivae.core.synthetic.lattice import make_lattice


def test_batch_on_a_cluster_address_encodes_there(tmp_path, capsys):
    """It failed with distributed's 'No clients found' (as_completed without a default
    client), so every image of such a batch failed."""
    distributed = pytest.importorskip("distributed")
    zarr = pytest.importorskip("zarr")
    image = make_lattice((96, 96), spacing=8.0, seed=0).image.astype(np.float32)
    stored = zarr.open(str(tmp_path / "img.zarr"), mode="w", shape=image.shape, chunks=(48, 48))
    stored[:] = image
    np.save(tmp_path / "p.npy", make_cards(10, size=16, rotation=45, seed=1).images)
    model = tmp_path / "m.ivae.pt"
    argv = ["train", "--model", "vae", "--patches", str(tmp_path / "p.npy"), "--out", str(model)]
    assert main([*argv, "--epochs", "1", "--hidden", "16", "--quiet"]) == 0
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        out = tmp_path / "results"
        args = ["batch", str(model), str(tmp_path / "img.zarr"), "--out", str(out), "--grid", "8"]
        capsys.readouterr()
        rc = main([*args, "--scheduler", cluster.scheduler_address])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "1 done" in err.splitlines()[-1]
    assert (out / "img" / "img.csv").is_file()
