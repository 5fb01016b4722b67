"""rVAE: rotation- (and/or translation-, scale-) invariant VAE with a spatial decoder.

The latent vector is ``[theta, dx, dy, (s), z...]`` (see :mod:`latent`); the decoder renders
each pixel from its coordinate transformed by the geometric latents together with z
(review paper, eq. 3-4), so z only has to explain what rotation and translation cannot.

With ``ModelConfig.pose_templates`` (``"replace"`` by default) and patches of objects that
really differ by rotation (the angle hint is used, at order 1), the pose comes from the
model's own templates: before the first step the training patches are grouped by shape
whatever their pose (:func:`napari_ivae.core.models.pose_search.group_shapes`), each group is
aligned into one template (:func:`napari_ivae.core.models.pose_search.align_class`), and each
patch's angle and offsets are the best (template, angle) match and its centroid
(:class:`~napari_ivae.core.models.templated_pose.TemplatedPose`). Why: the angular-moment
guess gives no consistent frame within a kind of object (none at all for a 2-fold diamond),
so the decoder learnt a rotational average and the latent manifold drew round blobs
(docs/performance.md, "The rVAE's manifold on cards").
"""

from __future__ import annotations

import numpy as np
import torch

from napari_ivae.core.models import pose_search
from napari_ivae.core.models.templated_pose import TemplatedPose

#: most shape groups (pose templates) an rVAE finds among its training patches
MAX_POSE_GROUPS = 8
#: patches the groups are found among, and per group the template is aligned from
GROUP_SAMPLE = 2048
GROUP_TEMPLATE_PATCHES = 256


class RVAE(TemplatedPose):
    """Rotationally (and translationally) invariant VAE.

    Parameters
    ----------
    config : ModelConfig
        ``kind="rvae"``. Offsets have a normal prior with std ``2 * translation_prior`` in
        half-width units (i.e. ``translation_prior`` of the patch width); the angle prior is
        normal (std ``angle_prior_scale``) or von Mises.
    """

    def __init__(self, config):
        super().__init__(config)
        self._register_pose_templates(config, MAX_POSE_GROUPS)

    def _n_searched(self) -> int:
        """The groups found (the first ones; the rest hold no template)."""
        used = torch.nonzero(self.pose_orders > 0).flatten()
        return int(used[-1]) + 1 if len(used) else len(self.pose_orders)

    def fit_normalization(self, patches: np.ndarray) -> None:
        """As :meth:`BaseIVAE.fit_normalization`, then the model's own pose templates
        (:meth:`fit_own_templates`) where the angle hint is used at order 1: objects that
        each have one orientation (cards, particles). Lattice sites (order 2-6: the angle
        known only modulo the lattice's symmetry, which the hint already respects) and
        patches of one orientation (no hint) keep the encoder's pose."""
        super().fit_normalization(patches)
        if (
            self.config.pose_templates
            and self.config.angle_hint
            and int(self.angle_hint_order) == 1
            and np.ndim(patches) == 3
        ):
            self.fit_own_templates(patches)

    @torch.no_grad()
    def fit_own_templates(self, patches) -> np.ndarray:
        """Group (up to :data:`GROUP_SAMPLE` of) the patches by shape
        (:func:`pose_search.group_shapes`, at most :data:`MAX_POSE_GROUPS` groups) and store
        each group's aligned template and symmetry order; returns the sample's groups."""
        step = max(len(patches) // GROUP_SAMPLE, 1)
        sample = torch.as_tensor(np.asarray(patches[::step][:GROUP_SAMPLE], dtype=np.float32))
        xn = self.normalize(sample.to(self.norm_offset.device))
        groups = pose_search.group_shapes(xn, MAX_POSE_GROUPS)
        chosen: list[torch.Tensor | None] = [None] * MAX_POSE_GROUPS
        for g in range(int(groups.max()) + 1):
            members = torch.nonzero(groups == g).flatten()[:GROUP_TEMPLATE_PATCHES]
            chosen[g] = xn[members]
        pose_search.store_templates(self.pose_templates, self.pose_orders, chosen)
        return groups.cpu().numpy()
