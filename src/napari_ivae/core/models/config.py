"""Typed configuration of the models (:class:`ModelConfig`) and of training (:class:`TrainConfig`).

Both are plain dataclasses that round-trip through ``to_dict()`` / ``from_dict()`` (JSON-safe
values only) so that a model bundle can record exactly how a model was built and trained. This
module gathers them for one import; each lives in a module of its own:
:mod:`~napari_ivae.core.models.model_config` (the model, its kinds and the domains of its
fields), :mod:`~napari_ivae.core.models.train_config` (training and each kind's defaults) and
:mod:`~napari_ivae.core.models.likelihood` (the likelihood ``"auto"`` resolves to).
"""

from __future__ import annotations

from napari_ivae.core.models.likelihood import (
    NEAR_BINARY_END,
    NEAR_BINARY_MARGIN,
    NEAR_BINARY_SHARE,
    choose_likelihood,
)
from napari_ivae.core.models.model_config import (
    ACTIVATIONS,
    ANGLE_PRIORS,
    CLASS_KINDS,
    DEFAULT_COORD_FEATURES,
    INVARIANCES,
    LIKELIHOODS,
    MODEL_KINDS,
    ModelConfig,
    default_translation_prior,
)
from napari_ivae.core.models.train_config import LR_SCHEDULES, SMOOTHNESS_FORMS, TrainConfig

__all__ = [
    "ACTIVATIONS",
    "ANGLE_PRIORS",
    "CLASS_KINDS",
    "DEFAULT_COORD_FEATURES",
    "INVARIANCES",
    "LIKELIHOODS",
    "LR_SCHEDULES",
    "MODEL_KINDS",
    "NEAR_BINARY_END",
    "NEAR_BINARY_MARGIN",
    "NEAR_BINARY_SHARE",
    "SMOOTHNESS_FORMS",
    "ModelConfig",
    "TrainConfig",
    "choose_likelihood",
    "default_translation_prior",
]
