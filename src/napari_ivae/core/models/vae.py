"""Plain VAE: MLP encoder and MLP decoder, no invariance."""

from __future__ import annotations

from napari_ivae.core.models.base import BaseIVAE


class VAE(BaseIVAE):
    """Variational autoencoder with fully connected encoder and decoder.

    Parameters
    ----------
    config : ModelConfig
        ``kind="vae"``; ``invariances`` is forced to ``()``.
    """
