"""shift-VAE (paper 004): translation-only spatial decoder with the offsets scaled by k.

The two offset latents have a standard normal prior like z; the grid is shifted by
``k * offsets`` with a fixed ``0 < k <= 1`` (``ModelConfig.shift_scale``) that encodes the
expected positional disorder. Train it with a rising KL weight beta(t) (see
``TrainConfig.defaults_for("shift-vae")``) so shift information stays out of z.
"""

from __future__ import annotations

from napari_ivae.core.models.base import BaseIVAE


class ShiftVAE(BaseIVAE):
    """Shift-invariant VAE for grid patches.

    Parameters
    ----------
    config : ModelConfig
        ``kind="shift-vae"``; ``invariances`` is forced to ``("translation",)``.
    """

    def __init__(self, config):
        super().__init__(config)
        self.offset_gain = float(config.shift_scale)

    def offset_prior_std(self) -> float:
        """Offsets are standard normal latents; k scales them when they shift the grid."""
        return 1.0
