"""Held-out confusion matrix of an ss-rVAE's classes: k-fold cross-validation over the labels.

A model's classes compared with the labels it was trained on say little: an ss-rVAE's
classifier can learn every label by heart, so labels drawn at random also come out near 100 %.
:func:`model_heldout_confusion` predicts every labeled patch with a classifier that never saw
that patch's label. The labeled patches are split into ``folds`` stratified folds; for each fold
a fresh classifier of the model's own architecture (its hidden layers and activation) reads
what the model's classifier reads (the normalised patch, turned into the canonical frame by the
trained encoder for a rotation-invariant model), is trained by cross-entropy on the other
folds' labels alone, and predicts the held-out fold.

What this measures: how well the classes can be told apart, from the classifier's input, on
patches whose labels the classifier did not see. The VAE itself is not retrained: its encoder,
which sets the canonical frame, was trained with every label, and the refitted classifier uses
no unlabeled patches (the model's own classifier also learns from the unlabeled patches' ELBO).
So it estimates the model's held-out accuracy rather than measuring it exactly; a large gap
between the training-label and the held-out matrix means the model's classes are not to be
trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_ivae.core.errors import InputError

DEFAULT_FOLDS = 5
DEFAULT_STEPS = 300


@dataclass
class HeldOutConfusion:
    """Cross-validated predictions of the labeled patches.

    Attributes
    ----------
    true, predicted : (M,) int64 arrays
        Label and held-out prediction of each labeled patch (in the order given).
    n_classes : int
    folds : int
        Number of folds used (fewer than asked when there are few labels).
    seed : int
    """

    true: np.ndarray
    predicted: np.ndarray
    n_classes: int
    folds: int
    seed: int

    @property
    def matrix(self) -> np.ndarray:
        """``(K, K)`` counts, rows true, columns predicted."""
        return confusion_matrix(self.true, self.predicted, self.n_classes)

    @property
    def accuracy(self) -> float:
        """Share of labeled patches predicted right by a classifier that did not see them."""
        return float(np.mean(self.true == self.predicted)) if len(self.true) else float("nan")

    @property
    def chance(self) -> float:
        """Accuracy of always answering the most common label (the floor to beat)."""
        counts = np.bincount(self.true, minlength=self.n_classes)
        return float(counts.max() / max(counts.sum(), 1))

    def to_dict(self) -> dict:
        """JSON-safe summary (matrix, accuracy, chance, folds, seed)."""
        return {
            "matrix": self.matrix.tolist(),
            "accuracy": self.accuracy,
            "chance": self.chance,
            "n_labeled": int(len(self.true)),
            "folds": self.folds,
            "seed": self.seed,
        }


def confusion_matrix(true, predicted, n_classes: int) -> np.ndarray:
    """``(K, K)`` int64 counts of labeled entries (``true >= 0``), rows true, columns predicted.

    Predictions outside ``0..K-1`` are clipped into it.
    """
    true, predicted = np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    keep = true >= 0
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (true[keep], np.clip(predicted[keep], 0, n_classes - 1)), 1)
    return matrix


def confusion_lines(matrix: np.ndarray, class_names: list[str]) -> list[str]:
    """The matrix as fixed-width text lines, a header of predicted names, one row per true class."""
    width = max(6, *(len(n) for n in class_names)) + 1
    lines = [
        "true \\ predicted".ljust(width) + "".join(n[: width - 1].rjust(width) for n in class_names)
    ]
    for name, row in zip(class_names, np.asarray(matrix)):
        lines.append(name[: width - 1].ljust(width) + "".join(str(v).rjust(width) for v in row))
    return lines


def stratified_folds(labels, folds: int, seed: int = 0) -> np.ndarray:
    """Fold index ``0..folds-1`` of each label, every class spread evenly over the folds."""
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    start = 0
    for k in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == k))
        # each class continues where the previous one stopped, so the folds stay the same size
        fold[members] = (start + np.arange(len(members))) % folds
        start = (start + len(members)) % folds
    return fold


def heldout_confusion(
    features,
    labels,
    n_classes: int,
    *,
    folds: int = DEFAULT_FOLDS,
    hidden=(128, 128),
    activation: str = "tanh",
    steps: int = DEFAULT_STEPS,
    lr: float = 1e-3,
    seed: int = 0,
) -> HeldOutConfusion:
    """Predict every labeled row of ``features`` with an MLP trained on the other folds only.

    Parameters
    ----------
    features : (N, ...) array
        What the classifier reads, one row per patch (flattened).
    labels : (N,) int array
        Class ``0..n_classes-1`` per row, ``-1`` = unlabeled (ignored).
    n_classes : int
        Number of classes K (>= 2).
    folds : int
        Number of folds (>= 2); lowered to the number of labeled rows when there are fewer.
    hidden, activation :
        The classifier's architecture (as ``nets.Classifier``).
    steps : int
        Full-batch Adam steps per fold.
    lr : float
        Adam learning rate.
    seed : int
        Fold assignment and initialisation.

    Returns
    -------
    HeldOutConfusion
    """
    import torch
    import torch.nn.functional as F

    from napari_ivae.core.models.nets import mlp

    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise InputError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    x = np.asarray(features, dtype=np.float32).reshape(len(labels), -1)
    keep = labels >= 0
    x, y = x[keep], labels[keep].astype(np.int64)
    if n_classes < 2 or (len(y) and y.max() >= n_classes):
        raise InputError(f"labels must lie in 0..{n_classes - 1} with n_classes >= 2")
    if len(np.unique(y)) < 2:
        raise InputError("a held-out check needs labeled patches of at least two classes")
    if int(folds) < 2:
        raise InputError(f"folds must be >= 2, got {folds}")
    folds = min(int(folds), len(y))
    fold = stratified_folds(y, folds, seed)
    predicted = np.empty(len(y), dtype=np.int64)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with torch.random.fork_rng(devices=[]):
        for f in range(folds):
            test, train = fold == f, fold != f
            torch.manual_seed(seed * 1000 + f)
            net = mlp((x.shape[1], *hidden, n_classes), activation)
            optimizer = torch.optim.Adam(net.parameters(), lr=lr)
            x_train, y_train = xt[torch.from_numpy(train)], yt[torch.from_numpy(train)]
            for _ in range(int(steps)):
                loss = F.cross_entropy(net(x_train), y_train)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                predicted[test] = net(xt[torch.from_numpy(test)]).argmax(1).numpy()
    return HeldOutConfusion(y, predicted, int(n_classes), folds, int(seed))


def classifier_inputs(model, patches, batch_size: int = 256, device=None) -> np.ndarray:
    """What an ss-rVAE's classifier reads for each patch, ``(N, H*W)`` float32."""
    import torch

    from napari_ivae.core.models.inference import _batches, _evaluating
    from napari_ivae.core.validation import as_patch_array

    if not hasattr(model, "classifier_input"):
        raise InputError(f"a {model.config.kind!r} model has no classifier; train an ss-rvae")
    data = as_patch_array(patches, model.config.patch_shape)
    out = []
    with _evaluating(model, device) as dev:
        for x in _batches(data, max(int(batch_size), 1), dev):
            out.append(model.classifier_input(model.normalize(x)).flatten(1).cpu())
    return torch.cat(out).numpy().astype(np.float32)


def model_heldout_confusion(
    model, patches, labels, *, folds: int = DEFAULT_FOLDS, steps: int = DEFAULT_STEPS, seed: int = 0
) -> HeldOutConfusion:
    """Cross-validated confusion matrix of an ss-rVAE's classes over the labeled patches.

    Parameters
    ----------
    model : SSRVAE
        A trained ss-rVAE (``build_model(ModelConfig("ss-rvae", ...))``).
    patches : (N, H, W) array
    labels : (N,) int array
        The model's class per patch, ``-1`` = unlabeled.
    folds, steps, seed :
        As :func:`heldout_confusion`.

    Returns
    -------
    HeldOutConfusion
        Over the labeled patches, in their order. See the module docstring for what it does
        and does not measure.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(patches):
        raise InputError(f"{len(patches)} patches but labels of shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise InputError(f"labels must be integers, got {labels.dtype}")
    labeled = np.flatnonzero(labels >= 0)
    features = classifier_inputs(model, np.asarray(patches)[labeled])
    return heldout_confusion(
        features,
        labels[labeled],
        int(model.n_classes),
        folds=folds,
        hidden=tuple(model.config.hidden),
        activation=model.config.activation,
        steps=steps,
        seed=seed,
    )
