"""``build_model``: a fresh (untrained) model for a :class:`ModelConfig`."""

from __future__ import annotations

import torch

from napari_ivae.core.errors import InputError
from napari_ivae.core.models.base import BaseIVAE
from napari_ivae.core.models.config import ModelConfig
from napari_ivae.core.models.crvae import CRVAE
from napari_ivae.core.models.joint_rvae import JointRVAE
from napari_ivae.core.models.rvae import RVAE
from napari_ivae.core.models.shift_vae import ShiftVAE
from napari_ivae.core.models.ss_rvae import SSRVAE
from napari_ivae.core.models.vae import VAE

_REGISTRY = {
    "vae": VAE,
    "rvae": RVAE,
    "shift-vae": ShiftVAE,
    "ss-rvae": SSRVAE,
    "jrvae": JointRVAE,
    "crvae": CRVAE,
}


def build_model(config: ModelConfig) -> BaseIVAE:
    """Build an untrained model from its configuration.

    Parameters
    ----------
    config : ModelConfig or dict
        A dict is converted with :meth:`ModelConfig.from_dict`.

    Returns
    -------
    BaseIVAE
        A ``torch.nn.Module`` with a ``config`` attribute, on the CPU, in training mode,
        weights initialised from seed 0 (``train`` re-initialises an untrained model from its
        own seed). The caller's global RNG state is left untouched.
    """
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    if not isinstance(config, ModelConfig):
        raise InputError(f"build_model needs a ModelConfig, got {type(config).__name__}")
    with torch.random.fork_rng(devices=[]):  # layer constructors draw from the global RNG
        model = _REGISTRY[config.kind](config)
    model.init_weights(seed=0)
    return model
