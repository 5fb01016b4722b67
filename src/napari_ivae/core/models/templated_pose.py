"""The pose read from class templates, shared by the ss-rVAE, the joint rVAE and the rVAE.

With ``ModelConfig.pose_templates`` a model holds one template per class (buffer
``pose_templates``, ``(K, H, W)``) and its rotational symmetry order (``pose_orders``, 0 = no
template), fitted by :func:`napari_ivae.core.models.pose_search.store_templates` from each
class's patches: the ss-rVAE's labeled ones before the first step, the joint rVAE's most
confident ones at its switch, the rVAE's groups of like shapes before the first step. Each
patch's angle is then the best (class, angle) match of the turned templates
(:meth:`TemplatedPose.template_pose`), added to the encoder's angle or, with ``"replace"``, in
its place together with the patch's centroid as the offsets.
"""

from __future__ import annotations

import torch

from napari_ivae.core.models import pose_search
from napari_ivae.core.models.base import BaseIVAE


class TemplatedPose(BaseIVAE):
    """A :class:`~napari_ivae.core.models.base.BaseIVAE` whose pose may come from class
    templates (the ss-rVAE's, the joint rVAE's and the rVAE's base); without fitted templates
    it encodes as ``BaseIVAE``."""

    pose_templates: torch.Tensor
    pose_orders: torch.Tensor
    #: (key of the templates' state, their turned bank): :meth:`_pose_bank`'s cache
    _pose_bank_cache: tuple | None = None
    #: (patches, their version, angles, centres) of the last :meth:`template_pose`
    _template_angle_memo: tuple | None = None

    def _register_pose_templates(self, config, n_classes: int) -> None:
        """With ``config.pose_templates``, the two buffers, zero (no template fitted yet)."""
        if config.pose_templates:
            shape = tuple(config.patch_shape)
            self.register_buffer("pose_templates", torch.zeros((n_classes, *shape)))
            self.register_buffer("pose_orders", torch.zeros(n_classes, dtype=torch.long))

    @property
    def uses_pose_templates(self) -> bool:
        """True when encodings use the templates' pose (``pose_templates``, fitted)."""
        return bool(self.config.pose_templates) and bool((self.pose_orders > 0).any())

    @property
    def replaces_pose(self) -> bool:
        """True when the templates' pose replaces the encoder's (``pose_templates="replace"``,
        fitted): the angle's mean and (with a translation latent) the offsets' are searched,
        not learnt (the patch's centroid)."""
        return self.config.pose_templates == "replace" and self.uses_pose_templates

    def _n_searched(self) -> int:
        """How many of the templates (the first ones) the pose is searched among: all of
        them (one per class); the rVAE's unused groups are left out."""
        return len(self.pose_templates)

    def _pose_bank(self) -> torch.Tensor:
        """The templates turned over the full circle (:func:`pose_search.turned_bank`),
        made again when the templates change (fitted, loaded, moved)."""
        n = self._n_searched()
        t = self.pose_templates
        key = (t._version, t.data_ptr(), t.device, t.dtype, n)
        if self._pose_bank_cache is None or self._pose_bank_cache[0] != key:
            with torch.no_grad():
                self._pose_bank_cache = (key, pose_search.turned_bank(t[:n]))
        return self._pose_bank_cache[1]

    def template_pose(self, xn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(angle, centre)``: the angle (radians, ``(B,)``) at which the best-matching class
        template, turned, correlates best with each normalised patch ``(B, H, W)``, both
        centred on their centroids (:func:`pose_search.centred`; 0 for a class without a
        template), and the patch's centroid ``(B, 2)`` (``(x, y)``, half-width units: the
        template frame's origin). No gradient; a function of the patch alone, so the last
        batch's are reused when the same tensor, unchanged, is asked again (the pose term
        encodes it a second time)."""
        memo = self._template_angle_memo
        if memo is not None and memo[0] is xn and memo[1] == xn._version:
            return memo[2], memo[3]
        with torch.no_grad():
            orders = self.pose_orders[: self._n_searched()].to(xn.device)
            patches, centre = pose_search.centring(xn)
            angle, cls, _ = pose_search.best_angles(
                patches.flatten(1),
                self._pose_bank().to(xn.dtype),
                orders.clamp_min(1),
            )
            angle = torch.where(orders[cls] > 0, angle, torch.zeros_like(angle))
        self._template_angle_memo = (xn, xn._version, angle, centre)
        return angle, centre

    def template_angle(self, xn: torch.Tensor) -> torch.Tensor:
        """The angle of :meth:`template_pose` (radians, ``(B,)``)."""
        return self.template_pose(xn)[0]

    def encode_gaussian(self, xn: torch.Tensor):
        """``(mean, std)`` of q(latent | x); with fitted pose templates the angle's mean is the
        encoder's plus :meth:`template_angle` (in place of ``angle_hint``'s moments), or, with
        ``pose_templates="replace"``, :meth:`template_pose`'s angle and centre alone."""
        if not ("theta" in self.layout.slices() and self.uses_pose_templates):
            return super().encode_gaussian(xn)
        mean, std = self.encoder(xn)
        guess, centre = self.template_pose(xn)
        parts = self.layout.slices()
        t = parts["theta"]
        angle = guess[:, None].to(mean.dtype)
        if not self.replaces_pose:
            angle = mean[:, t] + angle
        mean = torch.cat([mean[:, : t.start], angle, mean[:, t.stop :]], dim=1)
        if self.replaces_pose and "offsets" in parts:
            # the template frame's origin: the angle was searched about the centroid
            o = parts["offsets"]
            offsets = centre.to(mean.dtype) / self.offset_gain
            mean = torch.cat([mean[:, : o.start], offsets, mean[:, o.stop :]], dim=1)
        return mean, std
