"""The confusion matrix of a model's classes on the labeled patches in the Results dock, and
its held-out check (cross-validation in a worker)."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae._widgets import _writer
from napari_ivae._widgets._common import report
from napari_ivae._workers import background
from napari_ivae.core.errors import InputError


class ClassChecks:
    """The Results dock's confusion matrix of the model's classes on the labeled patches, and its
    held-out check (a mixin of :class:`~.results.ResultsWidget`)."""

    def _model_labels(self) -> np.ndarray | None:
        """The annotation labels in the current model's class numbering (``-1`` unlabeled),
        when the model has classes and they match the current patches."""
        labels, bundle = self._session.labels, self._session.bundle
        if labels is None or bundle is None or not bundle.config.class_names:
            return None
        names = list(bundle.config.class_names)
        train_names = list(self._session.classes.names)
        # labels use the annotation table's numbering; the model's classes are a subset
        remap = {train_names.index(n): k for k, n in enumerate(names) if n in train_names}
        return np.array([remap.get(int(v), -1) for v in np.asarray(labels)], dtype=np.int64)

    def _update_confusion(self) -> None:
        columns = self._session.columns or {}
        true = self._model_labels()
        self.heldout.value = ""
        if "class" not in columns or true is None or len(true) != len(columns["class"]):
            self.confusion.value = ""
            self.heldout_button.visible = False
            return
        names = list(self._session.bundle.config.class_names)
        self.confusion.value = _writer.confusion_text(true, columns["class"], names)
        self.heldout_button.visible = bool(self.confusion.value)

    def heldout_in_background(self) -> Any:
        """Cross-validate the model's classes over the labeled patches in a worker
        (:func:`napari_ivae.core.analysis.heldout.model_heldout_confusion`); returns the worker."""
        bundle, patchset, true = self._session.bundle, self._session.patchset, self._model_labels()
        if (
            bundle is None
            or patchset is None
            or true is None
            or len(true) != len(patchset.patches)
            or not np.any(true >= 0)
        ):
            report(
                self.status,
                InputError(
                    "no labeled patches for this model's classes: train "
                    "an ss-rvae on labeled patches first."
                ),
            )
            return None
        names = list(bundle.config.class_names)

        def show(held: Any) -> str:
            self.heldout.value = _writer.heldout_text(held, names)
            return self.heldout.value

        return background(
            self,
            _writer.compute_heldout,
            (bundle.model, patchset.patches, true),
            what="cross-validating the classes",
            show=show,
            on_done=lambda _: self.status.ok("held-out check done."),
            status=self.status,
            buttons=(self.heldout_button,),
        )
