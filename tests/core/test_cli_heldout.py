"""`napari-ivae encode` on an ss-rvae with labels: the matrix on the labels and held out."""

import numpy as np

from napari_ivae.cli import main
from napari_ivae.core.models.persistence import save_model


def test_encode_reports_noise_labels_at_chance_when_held_out(noise_label_ss_rvae, tmp_path, capsys):
    model, result, x, y = noise_label_ss_rvae
    save_model(tmp_path / "m.ivae.pt", model, result)
    np.savez(tmp_path / "p.npz", patches=x, labels=y)
    out = tmp_path / "e.npz"
    assert (
        main(
            [
                "encode",
                str(tmp_path / "m.ivae.pt"),
                "--patches",
                str(tmp_path / "p.npz"),
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "held out (5-fold" in err and "held-out accuracy" in err
    with np.load(out) as data:
        on_labels = np.trace(data["label_confusion"]) / data["label_confusion"].sum()
        assert on_labels > 0.95  # learned by heart
        assert float(data["heldout_accuracy"]) < 0.75
        assert data["heldout_confusion"].sum() == (y >= 0).sum()

    np.save(tmp_path / "l.npy", np.where(y >= 0, 0, -1))  # one class only: no held-out check
    assert (
        main(
            [
                "encode",
                str(tmp_path / "m.ivae.pt"),
                "--patches",
                str(tmp_path / "p.npz"),
                "--out",
                str(tmp_path / "e2.npz"),
                "--labels",
                str(tmp_path / "l.npy"),
                "--heldout-folds",
                "3",
            ]
        )
        == 0
    )
    assert "only one class" in capsys.readouterr().err
    assert (
        main(
            [
                "encode",
                str(tmp_path / "m.ivae.pt"),
                "--patches",
                str(tmp_path / "p.npz"),
                "--out",
                str(tmp_path / "e3.npz"),
                "--heldout-folds",
                "1",
            ]
        )
        == 2
    )
