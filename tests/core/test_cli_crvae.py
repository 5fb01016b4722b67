"""`napari-ivae train --model crvae`: class from --labels, values from --condition-column."""

import numpy as np
import pytest

from napari_ivae.cli import main
from napari_ivae.core.models.persistence import load_model
from napari_ivae.core.synthetic.cards import make_cards

TINY = ["--epochs", "1", "--min-steps", "2", "--hidden", "16", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("crvae")
    cards = make_cards(6, size=16, rotation=30, seed=4)
    dose = np.linspace(1.0, 3.0, len(cards))
    np.savez(root / "patches.npz", patches=cards.images, dose=dose)
    np.save(root / "labels.npy", cards.labels)
    partial = cards.labels.copy()
    partial[0] = -1
    np.save(root / "partial.npy", partial)
    (root / "table.csv").write_text("thickness\n" + "\n".join(f"{v:.3f}" for v in dose) + "\n")
    return root


def test_train_crvae_with_class_and_values(files):
    out = files / "c.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "crvae",
                "--patches",
                str(files / "patches.npz"),
                "--labels",
                str(files / "labels.npy"),
                "--condition-column",
                "dose",
                "--class-names",
                "clubs,spades,hearts,diamonds",
                "--out",
                str(out),
                *TINY,
            ]
        )
        == 0
    )
    bundle = load_model(out)
    assert bundle.config.kind == "crvae" and bundle.config.n_classes == 4
    assert bundle.config.translation_prior == 0.05  # the kind's default, not the rvae's 0.1
    assert bundle.config.condition_names == ("dose",)
    assert float(bundle.model.cond_mean[0]) == pytest.approx(2.0, abs=1e-4)
    out2 = files / "v.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "crvae",
                "--patches",
                str(files / "patches.npz"),
                "--condition-column",
                "thickness",
                "--conditions",
                str(files / "table.csv"),
                "--out",
                str(out2),
                *TINY,
            ]
        )
        == 0
    )
    values_only = load_model(out2).config
    assert values_only.n_classes == 0 and values_only.condition_names == ("thickness",)


@pytest.mark.parametrize(
    "extra, expected",
    [
        ([], "needs the class of every patch"),
        (["--labels", "partial.npy"], "no class"),
        (["--condition-column", "weight"], "no array 'weight'"),
    ],
)
def test_crvae_input_errors(files, capsys, extra, expected):
    extra = [str(files / e) if e.endswith(".npy") else e for e in extra]
    code = main(
        [
            "train",
            "--model",
            "crvae",
            "--patches",
            str(files / "patches.npz"),
            "--out",
            str(files / "bad.ivae.pt"),
            *extra,
            *TINY,
        ]
    )
    assert code == 2
    assert expected in capsys.readouterr().err
