"""Exceptions whose message is meant for the user.

Every error the core raises on purpose derives from :class:`IvaeError`, so callers (the CLI, the
napari widgets) can show ``str(err)`` as it is. None of them derives from ``RuntimeError``:
superqt's generator worker silently swallows ``RuntimeError``, so torch failures during
training are re-raised as :class:`TrainingError`.
"""


class IvaeError(Exception):
    """Base class of all user-facing napari-ivae errors."""


class InputError(IvaeError, ValueError):
    """Bad input data or parameters (shape, dtype, NaN, empty, out of range...)."""


class ModelFileError(IvaeError):
    """A model bundle file that cannot be read: corrupt, foreign, newer, or mismatched."""


class DeviceError(IvaeError):
    """The requested compute device (cuda, mps) is not available."""


class TrainingError(IvaeError):
    """Training failed (e.g. out of memory, numerical blow-up); wraps the original error."""
