"""The invariant-VAE models: configuration, building, training, inference, model files.

``build_model(config)`` returns a fresh (untrained) model for a :class:`ModelConfig`;
loading ``state_dict()`` into it restores a trained model completely, normalisation
included. ``train``/``fit`` train it, ``encode``/``decode`` use it, ``save_model``/
``load_model`` keep it in a bundle file that loads without running code.

The names below are this package's public API; each is imported from its module on first use,
so importing the package costs nothing until one is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_ivae.core._lazy import lazy_api

if TYPE_CHECKING:
    from .base import BaseIVAE
    from .config import MODEL_KINDS, ModelConfig, TrainConfig
    from .crvae import CRVAE
    from .factory import build_model
    from .inference import Encoding, class_traversal, classify, decode, encode, latent_manifold
    from .joint_rvae import JointRVAE
    from .persistence import ModelBundle, load_model, read_bundle, save_model
    from .rvae import RVAE
    from .shift_vae import ShiftVAE
    from .ss_rvae import SSRVAE
    from .training import TrainEvent, TrainResult, fit, train
    from .vae import VAE

_EXPORTS = {
    "MODEL_KINDS": "config",
    "build_model": "factory",
    "ModelConfig": "config",
    "TrainConfig": "config",
    "BaseIVAE": "base",
    "VAE": "vae",
    "RVAE": "rvae",
    "ShiftVAE": "shift_vae",
    "SSRVAE": "ss_rvae",
    "JointRVAE": "joint_rvae",
    "CRVAE": "crvae",
    "TrainEvent": "training",
    "TrainResult": "training",
    "fit": "training",
    "train": "training",
    "Encoding": "inference",
    "class_traversal": "inference",
    "classify": "inference",
    "decode": "inference",
    "encode": "inference",
    "latent_manifold": "inference",
    "ModelBundle": "persistence",
    "load_model": "persistence",
    "read_bundle": "persistence",
    "save_model": "persistence",
}

__all__ = [
    "BaseIVAE",
    "CRVAE",
    "Encoding",
    "JointRVAE",
    "MODEL_KINDS",
    "ModelBundle",
    "ModelConfig",
    "RVAE",
    "SSRVAE",
    "ShiftVAE",
    "TrainConfig",
    "TrainEvent",
    "TrainResult",
    "VAE",
    "build_model",
    "class_traversal",
    "classify",
    "decode",
    "encode",
    "fit",
    "latent_manifold",
    "load_model",
    "read_bundle",
    "save_model",
    "train",
]


__getattr__, __dir__ = lazy_api(__name__, _EXPORTS)
