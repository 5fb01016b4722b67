"""The Results dock's model file (save, load) and applying the model to another image without
retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari_ivae._widgets._common import report
from napari_ivae.core.errors import InputError


class ModelActions:
    """The Results dock's model file (save, load) and applying the model to another image (a
    mixin of :class:`~.results.ResultsWidget`)."""

    def save(self) -> Path | None:
        """Save the current model bundle to the chosen file."""
        from napari_ivae.core.models.persistence import (
            is_model_path,
            pipeline_metadata,
            save_model,
        )

        bundle = self._session.bundle
        target = Path(self.model_file.value)
        replaced = target.exists()
        try:
            if bundle is None:
                raise InputError("no model to save: train one first.")
            if not is_model_path(target):  # never over the user's image or table
                raise InputError(
                    f"the model file must end in .ivae.pt, got {target.name!r}; "
                    "choose a name such as model.ivae.pt"
                )
            path = save_model(
                target,
                bundle.model,
                result=self._session.train_result,
                metadata=pipeline_metadata(bundle.metadata),
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        if replaced:  # never silently: the file of that name was someone's
            self.status.warn(f"saved {path}, replacing the earlier file of that name")
        else:
            self.status.ok(f"saved {path}")
        return path

    def load(self) -> Any:
        """Load a model bundle; it becomes the session's model."""
        from napari_ivae.core.errors import ModelFileError
        from napari_ivae.core.models.persistence import load_model

        try:
            bundle = load_model(Path(self.model_file.value))
        except ModelFileError as err:  # the core names the command line's option
            text = str(err).replace("a lower --lr", "a lower 'learning rate' in the Train dock")
            report(self.status, ModelFileError(text))
            return None
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self._session.update(bundle=bundle, train_result=None)
        self.status.ok(f"loaded {bundle.config.kind} model from {self.model_file.value}")
        return bundle

    def apply(self) -> list:
        """Detect, cut patches of the model's size and encode another image (no training)."""
        from napari_ivae._widgets._apply import apply_model

        try:
            written = apply_model(self._viewer, self._session, self.apply_image.value)
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return []
        self.reset_choices()
        self._say_applied(written)
        return written

    def _say_applied(self, written: list) -> None:
        message = f"applied the model: wrote {len(written)} layers."
        notes = getattr(written, "notes", "")
        if notes:  # e.g. missing pixels filled: a result to look at
            self.status.warn(f"{message} {notes}")
        else:
            self.status.ok(message)

    def apply_in_background(self) -> None:
        """As :meth:`apply`, with detection, patches and encoding in a worker thread."""
        from napari_ivae._widgets._apply import apply_job

        def done(written: list) -> None:
            self.reset_choices()
            self._say_applied(written)

        try:
            apply_job(
                self._viewer,
                self._session,
                self.apply_image.value,
                done,
                lambda err: report(self.status, err),
                owner=self,
                buttons=(self.apply_button,),
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return
        self.status.ok(f"applying the model to {self.apply_image.value.name!r}...")
