"""How a model is trained: :class:`TrainConfig` and each model kind's training defaults.

A plain dataclass that round-trips through ``to_dict()`` / ``from_dict()`` (JSON-safe values
only), so that a model bundle records exactly how its model was trained; a configuration saved
before a field's default changed reads with the value training used then
(``_LEGACY_TRAIN_FIELDS``). :meth:`TrainConfig.defaults_for` gives a kind's measured defaults
(``_DEFAULTS``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from napari_ivae.core.errors import InputError
from napari_ivae.core.models.model_config import MODEL_KINDS, _from_dict

LR_SCHEDULES = ("constant", "cosine", "onecycle")
SMOOTHNESS_FORMS = ("tv", "gmrf", "tv-relative")


@dataclass
class TrainConfig:
    """How a model is trained.

    Parameters
    ----------
    epochs, batch_size, lr :
        Passes over the (unlabeled) data, patches per step, peak learning rate (Adam).
    lr_bernoulli : float or None
        The peak learning rate instead of ``lr`` when the model's likelihood resolves to
        Bernoulli (near-binary patches,
        :func:`~napari_ivae.core.models.likelihood.choose_likelihood`); None: ``lr`` always. The
        rVAE's default is 3e-3 (with 1e-3 its decoder draws the cards' suits as blobs, with
        3e-3 as suits; every grey real image, Gaussian, keeps 1e-3: docs/performance.md, "The
        rVAE's learning rate"). :meth:`defaults_for` drops it when ``lr`` is given a value
        other than the kind's default: a learning rate the user chose is used as it is.
    seed : int
        Seeds every random draw (initial weights, shuffling, latent samples, pixel subsets).
    device : str
        ``"auto"`` (cuda > mps > cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
    beta_start, beta_end, beta_ramp_epochs :
        KL weight beta(t), linear from start to end over the first ramp epochs.
    label_weight : float
        ss-rvae: multiplier of the classifier's cross-entropy on labeled patches.
    min_labeled_per_batch : int
        ss-rvae: every batch carries at least this many labeled patches (drawn cyclically).
    pixels_per_step : int
        Number of pixel coordinates the spatial decoder evaluates per step (a fresh random
        subset each step, the log-likelihood rescaled so it stays unbiased). 0 = all pixels.
    lr_schedule : str
        ``"constant"``, ``"cosine"`` or ``"onecycle"`` (warm-up then cosine decay).
    weight_decay : float
        Adam weight decay.
    grad_clip : float
        Max global gradient norm (0 = off).
    min_steps : int
        Train for at least this many optimizer steps: on a small patch set the epochs are
        raised to ``ceil(min_steps / steps_per_epoch)`` (see :meth:`epochs_for`), so defaults
        tuned on thousands of patches still train a few hundred labeled cards properly.
    smoothness : float
        Weight lambda of the latent maps' roughness (differences of the latent means between
        neighbouring grid tiles, :func:`napari_ivae.core.models.grid_smoothness.roughness`), per pixel of a
        patch: the term added to the per-patch loss is ``smoothness * H * W * roughness``, so
        it keeps its balance with the reconstruction term (a sum over the patch's pixels)
        whatever the patch size. Only used when training is given the patches' ``grid_shape``;
        0 = off.
    z_kl_start, z_kl_ramp :
        Weight of z's KL term (the geometric latents keep 1): ``z_kl_start`` at the first
        step, falling linearly to 1 over the first ``z_kl_ramp`` share of the steps (0 = off).
        A high start keeps z small early, so a decoder given the class learns to draw it from
        the class instead of from z.
    z_class_share : float
        crvae with classes: weight of the share of z's variance that lies between the known
        classes (between-class variance of the batch's z posterior means over their total
        variance, :meth:`napari_ivae.core.models.crvae.CRVAE.z_between_share`), added to the
        per-patch loss. Each class's codes then lie where the others' do, so a class drawn
        anywhere in z's range is drawn from codes like its own. Scale-free: the absolute
        between-class variance at weight 300 was met by shrinking z to nothing. 0 = off
        (default: at 100, on 1000 cards over seeds 0-2, the decodings judged over all codes
        went 0.97 / 0.78 / 0.59 -> 1.00 / 0.97 / 0.78, but seed 0's z shrank to nothing and
        seed 2's own-codes score fell 0.88 -> 0.75; docs/performance.md).
    smoothness_form : str
        ``"tv-relative"`` (default): absolute differences over each latent's spread in the
        batch (scale-free: the encoder cannot meet it by shrinking the map), ``"tv"``: total
        variation (absolute differences; keeps sharp domain walls; on every z the encoder met
        it by shrinking z rather than smoothing it) or ``"gmrf"``: squared differences (a
        Gaussian Markov-random-field prior on the posterior-mean field).
    smoothness_latents : int
        The roughness term on the first ``smoothness_latents`` z only (designated phase
        latents: the map to segment is z1; the others and the offsets stay free to carry
        the detail). 0 = every z. Default 1: with ``"tv-relative"``, the best variant
        measured (PTO/SRO z1 segmentation edge -31 % at +0.4 % reconstruction, lambda 1;
        docs/performance.md, "Sixth round"); both only matter when ``smoothness > 0``.
    psi_slack : float
        The physics-driven VAE paper's multiplicative control: with ``psi_slack = w > 0`` and
        a ``grid_shape``, each epoch's loss is multiplied by ``(w + Psi)``, ``Psi`` the mean
        edge length (:func:`napari_ivae.core.analysis.segmentation.edge_length`) of the z maps of all
        tiles encoded after the previous epoch, divided by the grid's mean side (one straight
        full-contrast wall across the map = 1). Carries no gradient of its own. 0 = off.
    label_noise : float or None
        ss-rvae: standard deviation (intensity units) of Gaussian noise added to the labeled
        patches of every batch, clipped to the data's range. ``None`` (default): measured from
        the data, the level at which the labeled patches' pixel noise matches the unlabeled
        ones' (:func:`napari_ivae.core.models.ss_rvae.matching_noise`): 0 when both are
        equally noisy, e.g. labels drawn on the image being classified. 0 = off.
    z_class_weight : float
        ss-rvae: weight of the between-class variance of z's posterior means in each batch
        (labeled patches by their label, unlabeled ones by the classifier's q(y|x), held
        fixed), added to the per-patch loss: it keeps the class out of z, so that the decoder
        has to draw each class from its class input. 0 = off (default: at 30, on the published
        cards protocol over seeds 0-2, the class traversal rose only on seed 1, 0.59 -> 0.69,
        and the classifier fell below 0.95 on seeds 1 and 2; docs/performance.md).
    pose_consistency : float
        ss-rvae with a rotation latent: weight of the disagreement between the encoder's angle
        of each patch and of a randomly turned copy
        (:meth:`napari_ivae.core.models.ss_rvae.SSRVAE.pose_disagreement`, scaled by the two
        posteriors' variances, so 1 scores it in nats), added to the per-patch loss. It
        teaches the encoder angles that turn with the patch, which the classifier needs (it
        reads the patch turned back by that angle). 0 = off; 1 in the ss-rvae's defaults (on
        the published cards protocol the classifier rose on seeds 1 and 2, 0.954 -> 0.975 and
        0.909 -> 0.971; with it alone seed 2's class traversal fell 1.000 -> 0.719, which the
        class images' polish, ``class_image_steps``, restores; docs/performance.md).
    class_image_steps, class_image_rate :
        Models with class images (``ModelConfig.class_template``) trained with labels
        (ss-rvae): after training, ``class_image_steps`` more steps in which only the class
        images learn, every other parameter held, at ``class_image_rate`` times ``lr``
        decaying to 0 (:func:`napari_ivae.core.models.class_polish._polish_class_images`). Adam
        moves a parameter by about the learning rate per step, so images started at 0 stay
        faint (logits within about +/-1.5 after the ss-rVAE's 1 200 steps) and the class
        traversal draws blurred suits; learnt faster during training they pulled the
        classifier (published cards protocol, held for half the steps then 20x: classifier
        0.975 -> 0.874 and 0.971 -> 0.749 on seeds 1 and 2 with pose consistency). After it,
        the classifier and encoder are as trained. 0 steps = off; the ss-rvae's defaults
        are 200 steps at 10x (published cards protocol with pose consistency, seeds 1 / 2:
        class traversal judged 0.594 / 0.719 -> 1.000 / 1.000 over all codes, for ~15 CPU
        seconds against ~175 of training).
    """

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    lr_bernoulli: float | None = None
    seed: int = 0
    device: str = "auto"
    beta_start: float = 1.0
    beta_end: float = 1.0
    beta_ramp_epochs: int = 0
    label_weight: float = 30.0
    min_labeled_per_batch: int = 16
    pixels_per_step: int = 0
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    min_steps: int = 0
    z_class_share: float = 0.0
    smoothness: float = 0.0
    z_kl_start: float = 1.0
    z_kl_ramp: float = 0.0
    smoothness_form: str = "tv-relative"
    smoothness_latents: int = 1
    psi_slack: float = 0.0
    label_noise: float | None = None
    z_class_weight: float = 0.0
    pose_consistency: float = 0.0
    class_image_steps: int = 0
    class_image_rate: float = 10.0

    def __post_init__(self):
        _at_least_zero(self, "z_class_share", "smoothness")
        if self.smoothness_latents < 0:
            raise InputError(
                f"smoothness_latents must be >= 0 (0 = every z), got {self.smoothness_latents}"
            )
        if self.smoothness_form not in SMOOTHNESS_FORMS:
            raise InputError(
                f"smoothness_form must be one of {SMOOTHNESS_FORMS}, got {self.smoothness_form!r}"
            )
        if not (
            math.isfinite(self.z_kl_start) and self.z_kl_start >= 0 and 0 <= self.z_kl_ramp <= 1
        ):
            raise InputError(
                "z_kl_start must be >= 0 and z_kl_ramp a share of the steps in "
                f"[0, 1], got {self.z_kl_start}, {self.z_kl_ramp}"
            )
        _at_least_zero(self, "psi_slack")
        if self.label_noise is not None and not (
            math.isfinite(self.label_noise) and self.label_noise >= 0
        ):
            raise InputError(f"label_noise must be a number >= 0 or None, got {self.label_noise}")
        _at_least_zero(self, "z_class_weight", "pose_consistency")
        if not (math.isfinite(self.class_image_rate) and self.class_image_rate > 0) or not (
            int(self.class_image_steps) >= 0
        ):
            raise InputError(
                "class_image_rate must be > 0 and class_image_steps >= 0, got "
                f"{self.class_image_rate}, {self.class_image_steps}"
            )
        self.class_image_steps = int(self.class_image_steps)
        if int(self.epochs) < 1 or int(self.batch_size) < 1:
            raise InputError("epochs and batch_size must be >= 1")
        _positive(self, "lr")
        if self.lr_bernoulli is not None:
            _positive(self, "lr_bernoulli")
        if self.beta_start < 0 or self.beta_end < 0 or self.beta_ramp_epochs < 0:
            raise InputError("beta_start, beta_end and beta_ramp_epochs must be >= 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.pixels_per_step < 0 or self.min_labeled_per_batch < 0 or self.min_steps < 0:
            raise InputError("pixels_per_step, min_labeled_per_batch and min_steps must be >= 0")
        _positive(self, "label_weight")
        if not 0 <= int(self.seed) <= 2**32 - 1:
            raise InputError(f"seed must be a whole number from 0 to {2**32 - 1}, got {self.seed}")
        self.epochs, self.batch_size, self.seed = (
            int(self.epochs),
            int(self.batch_size),
            int(self.seed),
        )

    def epochs_for(self, steps_per_epoch: int) -> int:
        """Epochs actually trained: ``epochs``, raised so that at least ``min_steps`` are made."""
        needed = -(-int(self.min_steps) // max(int(steps_per_epoch), 1))
        return max(self.epochs, needed)

    def z_kl_at(self, progress: float) -> float:
        """Weight of z's KL term after the share ``progress`` (0-1) of all steps."""
        if self.z_kl_ramp <= 0:
            return 1.0
        t = min(max(progress / self.z_kl_ramp, 0.0), 1.0)
        return float(self.z_kl_start + t * (1.0 - self.z_kl_start))

    def beta_at(self, epoch_progress: float) -> float:
        """KL weight after ``epoch_progress`` epochs (fractional, 0-based)."""
        if self.beta_ramp_epochs <= 0:
            return float(self.beta_end)
        t = min(max(epoch_progress / self.beta_ramp_epochs, 0.0), 1.0)
        return float(self.beta_start + t * (self.beta_end - self.beta_start))

    def to_dict(self) -> dict:
        """JSON-safe dictionary of all fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`.

        Fields missing from ``d`` (a configuration saved before they existed) take the value
        training used then (``_LEGACY_TRAIN_FIELDS``), not today's default.
        """
        return _from_dict(cls, {**_LEGACY_TRAIN_FIELDS, **d})

    @classmethod
    def defaults_for(cls, kind: str, **overrides) -> TrainConfig:
        """Good defaults for a model kind (see ``docs/performance.md`` for how they were chosen).

        Parameters
        ----------
        kind : str
            One of ``MODEL_KINDS``.
        **overrides
            Fields to change from the defaults.
        """
        if kind not in MODEL_KINDS:
            raise InputError(f"unknown model kind {kind!r}; choose one of {MODEL_KINDS}")
        base: dict = dict(_DEFAULTS[kind])
        if "lr" in overrides and overrides["lr"] != base.get("lr", cls.lr):
            base.pop("lr_bernoulli", None)  # the user's learning rate, whatever the likelihood
        base.update(overrides)
        return cls(**base)

    def lr_for(self, bernoulli: bool) -> float:
        """The peak learning rate for a model whose likelihood is (not) Bernoulli."""
        return float(self.lr_bernoulli) if bernoulli and self.lr_bernoulli else float(self.lr)


def _at_least_zero(config: TrainConfig, *names: str) -> None:
    """Raise :class:`InputError` for the first of the fields ``names`` that is not a finite
    number >= 0."""
    for name in names:
        value = getattr(config, name)
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{name} must be a number >= 0, got {value}")


def _positive(config: TrainConfig, *names: str) -> None:
    """Raise :class:`InputError` for the first of the fields ``names`` that is not a finite
    number > 0."""
    for name in names:
        value = getattr(config, name)
        if not value > 0 or not math.isfinite(value):
            raise InputError(f"{name} must be a positive number, got {value}")


#: values of training fields whose default changed, for configurations saved without them
_LEGACY_TRAIN_FIELDS = {"smoothness_form": "tv", "smoothness_latents": 0}


_DEFAULTS = {
    "vae": dict(epochs=30, batch_size=128, lr=1e-3, lr_schedule="onecycle"),
    # lr 1e-3 on grey patches (Gaussian), 3e-3 on near-binary ones (Bernoulli): 3e-3 lets the
    # decoder draw the card suits and is level or better on most real images, but loses
    # 0.004-0.009 on Si [110] and the after-image over two seeds (docs/performance.md, "The
    # rVAE's learning rate"); every real image measured resolves to Gaussian
    "rvae": dict(
        epochs=30,
        batch_size=128,
        lr=1e-3,
        lr_bernoulli=3e-3,
        lr_schedule="onecycle",
        pixels_per_step=512,
        min_steps=300,
    ),
    "shift-vae": dict(
        epochs=30,
        batch_size=128,
        lr=1e-3,
        lr_schedule="onecycle",
        pixels_per_step=512,
        beta_start=0.1,
        beta_end=1.0,
        beta_ramp_epochs=15,
    ),
    "jrvae": dict(
        epochs=40,
        batch_size=128,
        lr=1e-3,
        lr_schedule="onecycle",
        pixels_per_step=512,
        min_steps=600,
    ),
    # the ss-rVAE's schedule (lr 3e-3, 128 px per step) with more steps: with the rVAE's
    # (1e-3, 512 px, 300 steps) the angle was not learnt and every class decoded as one blob;
    # per-class decodings judged 0.56 after 1200 steps, 0.69 after 2400 (1000 cards)
    "crvae": dict(
        epochs=12,
        batch_size=128,
        lr=3e-3,
        lr_schedule="onecycle",
        pixels_per_step=128,
        min_steps=2400,
        z_kl_start=10.0,
        z_kl_ramp=0.5,
    ),
    # z's KL weight 10 -> 1 over the first half: z cannot hold the class early, so the decoder
    # learns it from y (class traversal judged 0.25 -> 0.75; classifier 0.958 -> 0.968)
    "ss-rvae": dict(
        epochs=12,
        batch_size=128,
        lr=3e-3,
        lr_schedule="onecycle",
        pixels_per_step=128,
        label_weight=300.0,
        min_labeled_per_batch=16,
        min_steps=300,
        z_kl_start=10.0,
        z_kl_ramp=0.5,
        # the angle must turn with the card: classifier on the published cards, seeds 0 / 1 /
        # 2: 0.975 / 0.954 / 0.909 -> 0.976 / 0.975 / 0.971
        pose_consistency=1.0,
        # 200 steps of the class images alone after training: class traversal judged (over
        # all codes) 1.000 / 0.594 / 1.000 -> 1.000 / 1.000 / 1.000, classifier unchanged
        class_image_steps=200,
        class_image_rate=10.0,
    ),
}


__all__ = ["LR_SCHEDULES", "SMOOTHNESS_FORMS", "TrainConfig"]
