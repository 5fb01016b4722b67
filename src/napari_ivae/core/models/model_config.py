"""How a model is built: :class:`ModelConfig`, its kinds and the domains of its fields.

A plain dataclass that round-trips through ``to_dict()`` / ``from_dict()`` (JSON-safe values
only), so that a model bundle records exactly how its model was built; a file saved before a
field existed loads with the value that rebuilds its model as it was
(``_LEGACY_MODEL_FIELDS``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from napari_ivae.core.errors import InputError

MODEL_KINDS = ("vae", "rvae", "shift-vae", "ss-rvae", "jrvae", "crvae")
#: kinds with a discrete class y (ss-rvae: from labels; jrvae: found without labels)
CLASS_KINDS = ("ss-rvae", "jrvae")
INVARIANCES = ("rotation", "translation", "scale")
ANGLE_PRIORS = ("normal", "von_mises")
LIKELIHOODS = ("auto", "bernoulli", "gaussian")
ACTIVATIONS = ("tanh", "relu", "gelu", "silu")


def _tuple(value) -> tuple:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


DEFAULT_COORD_FEATURES = 32  # Fourier features of the decoder's coordinates (rvae, shift-vae)


def default_translation_prior(kind: str) -> float:
    """The offsets' prior standard deviation (fraction of the patch width) a ``kind`` is built
    with by default: 0.1, and 0.05 for ``crvae``. With 0.1 the crVAE's codes drifted 0.65-0.84
    half-widths off centre on one of three seeds of the cards, where its class images (started
    at the centred class means) do not meet the drawn shape, and its per-class decodings blurred.
    With 0.05, seeds 0-3 judged 0.97 / 1.00 / 1.00 / 1.00 over all codes (with 0.1 seeds 0-2:
    0.97 / 0.78 / 0.59), all 1.00 over each class's own codes (docs/performance.md)."""
    return 0.05 if kind == "crvae" else 0.1


@dataclass
class ModelConfig:
    """How a model is built.

    Parameters
    ----------
    kind : str
        One of ``MODEL_KINDS``: ``"vae"``, ``"rvae"``, ``"shift-vae"``, ``"ss-rvae"``,
        ``"jrvae"`` (joint rVAE: ``n_classes`` classes found without labels).
    patch_shape : tuple of int
        ``(H, W)`` of the patches the model reads and writes.
    latent_dim : int
        Number of conventional continuous latent variables z.
    invariances : tuple of str
        Subset of ``("rotation", "translation", "scale")`` handled by the spatial decoder
        (rvae, ss-rvae). ``shift-vae`` always uses ``("translation",)``; ``vae`` none.
        ``ss-rvae`` with ``()`` is the non-invariant ss-VAE control.
    translation_prior : float or None
        Prior standard deviation of the offsets, as a fraction of the patch width. ``None``
        (default): :func:`default_translation_prior` of the kind, 0.1, or 0.05 for ``crvae``.
    angle_prior : str
        ``"normal"`` (as in the papers) or ``"von_mises"`` (circular prior; KL estimated by
        Monte Carlo).
    angle_prior_scale : float
        Standard deviation (radians) of the angle prior; for von Mises, kappa = 1 / scale**2
        (``inf`` gives a uniform prior on the circle).
    scale_prior : float
        Prior standard deviation of the log-scale latent (only with the ``"scale"`` invariance).
    shift_scale : float
        shift-VAE's k (0 < k <= 1): the coordinate grid is shifted by ``k * offsets``.
    n_classes, class_names :
        ss-rvae's and jrvae's discrete classes (jrvae: names default to "class 0"...).
    hidden : tuple of int
        Widths of the hidden layers of encoder, decoder and classifier.
    activation : str
        ``"tanh"`` (papers) or ``"relu"``, ``"gelu"``, ``"silu"``.
    likelihood : str or None
        ``"bernoulli"`` (data scaled to [0, 1] and clipped), ``"gaussian"`` (one learned
        noise scale) or ``"auto"``: chosen from the training patches before the first step
        (:func:`~napari_ivae.core.models.likelihood.choose_likelihood`): Bernoulli for near-binary patches
        (cards, masks), Gaussian for grey intensities (HAADF, STM), which Bernoulli fits as if
        the noise were ~0.5 of the range and so leaves z unused (docs/performance.md).
        ``None`` (default): ``"auto"``, except ``"bernoulli"`` for ``ss-rvae``, whose label
        weight is tuned on the Bernoulli loss.
    canonical_classifier : bool
        ss-rvae with rotation/translation invariance: the classifier reads the patch resampled
        into the decoder's canonical frame (angle and offsets from the encoder), which makes
        q(y|x) explicitly invariant. False gives the papers' raw-pixel classifier.
    angle_hint : bool or None
        Start the encoder's angle from an equivariant guess (angular moments of the patch,
        see :mod:`pose`) and learn a correction. ``None`` (default) turns it on for ``rvae``
        with rotation invariance, where training otherwise often leaves the angle unlearnt.
    pose_templates : bool, "replace" or None
        ss-rvae with a rotation latent: the pose comes from a matched filter. Before the first
        step each class's labeled patches are aligned among themselves (any poses) into one
        template (:func:`napari_ivae.core.models.pose_search.align_class`), saved with the
        model; each patch is centred on its centroid and the best-matching template is turned
        over the full circle (:meth:`napari_ivae.core.models.templated_pose.TemplatedPose.template_pose`).
        ``"replace"``: that angle and the centroid *replace* the encoder's angle and offset
        means (the classifier's input, the decoder and the KL alike read them; the encoder
        learns z and the pose's spread; the pose-consistency term is dropped, having nothing
        to move). ``True``: the angle is *added* to the encoder's, which learns a correction;
        that correction is shared by all patches and wanders over training, so on noisy cards
        the classifier learns in a turning frame. ``None`` (default): ``"replace"`` for
        ``ss-rvae`` with rotation invariance (published cards protocol, classifier 1.000 on
        seeds 0-4 clean, 0.88 at noise 1.0 on seeds 0-4; added: 1.000 clean, 0.61 noisy;
        neither: 0.889-0.976 clean, 0.52 noisy; docs/performance.md). Model files saved
        before it load with it off. ``jrvae`` with rotation invariance (``"replace"`` too):
        the templates come from the model's own start classes at the end of its warm-up (each
        class's most confident patches;
        :meth:`napari_ivae.core.models.joint_rvae.JointRVAE.fit_own_templates`), and the
        decoder's class images start from them (``class_template``): 240 cards, 600 steps,
        seeds 0-2, class traversal judged 1.000 (0.50 without the class images, seed 0) and
        classes 1.000; 2 000 cards, seeds 0-2: both 1.000 (docs/performance.md). ``rvae``
        with rotation invariance (``"replace"`` too): where the angle hint is used at order 1
        (objects that each have one orientation: cards, particles; not lattice sites nor
        patches of one orientation), the training patches are grouped by shape whatever
        their pose (:func:`napari_ivae.core.models.pose_search.group_shapes`, at most 8
        groups) before the first step and each group aligned into a template
        (:meth:`napari_ivae.core.models.rvae.RVAE.fit_own_templates`): each kind of card is
        then encoded in one frame (240 cards: the angle's frame consistency per suit
        0.07-0.72 -> 1.00), which the decoder needs to draw shapes rather than rotational
        averages (docs/performance.md, "The rVAE's manifold on cards").
    coord_features : int or None
        Spatial decoder: number of Fourier features ``sin, cos(pi f . c)`` of the transformed
        pixel coordinate ``c`` fed to the decoder besides ``c`` itself (0 = the papers' plain
        linear embedding of ``c``). Lets the coordinate network draw sharp atom columns.
        ``None`` (default): 32, except 0 for ``ss-rvae``, whose classifier is tuned with the
        papers' decoder (published cards protocol: 0.869 with the features, 0.958 without),
        and for ``crvae`` (its per-class decodings were measured with the papers' decoder).
    max_frequency : float
        Highest feature frequency in cycles per pixel (times the patch side gives cycles per
        patch width; 0.25 = half the Nyquist frequency).
    posterior_init_std : float
        Initial standard deviation of q(latent|x) (0 = PyTorch's default init, about 1).
    film : bool
        Spatial decoder: z also multiplies the coordinate embedding (FiLM, ``1 + A z``,
        starting at 0) besides adding to it.
    template : bool or None
        Spatial decoder: add a linear part read at each patch's transformed coordinates (a
        learned mean image and one image per z) to the network's output; before the first
        step it is set to the training patches' PCA, and the encoder gets a linear path set
        to the PCA projection, so training starts from probabilistic PCA at pose 0 (see
        :meth:`BaseIVAE.fit_normalization`). ``None`` (default): on for ``rvae`` and
        ``shift-vae``; off for ``ss-rvae`` (its classifier was tuned without it) and ``vae``.
    class_film : bool or None
        Spatial decoder with a class (ss-rvae, crvae): the condition shifts and scales the
        pre-activation of every hidden layer (FiLM), instead of only biasing the last one.
        ``None`` (default): on for ``crvae``, off for ``ss-rvae``.
    class_template : bool or None
        Spatial decoder with a class (ss-rvae, crvae): one learned image per class (logits for
        Bernoulli) read at each patch's transformed coordinates and added to the network's
        output, so that each class's shape is an image of its own that z and the network only
        modify. Starts at 0 (ss-rvae) or at each class's mean patch (crvae,
        :meth:`CRVAE.fit_class_templates`). ``None`` (default): on for ``ss-rvae`` (published
        cards protocol, seeds 0 / 1: class traversal judged 0.75 / 0.47 -> 1.00 / 0.59,
        classifier 0.968 / 0.963 -> 0.975 / 0.954) and ``crvae`` (1000 cards at +/-60 deg:
        per-class decodings judged 0.56 -> 0.75 at 1200 steps, 0.97 at 2400), for ``jrvae``
        with its pose templates (started at the switch from each class's template,
        :meth:`napari_ivae.core.models.joint_rvae.JointRVAE.start_class_images`), off elsewhere.
    condition_names : tuple of str
        crvae: names of the continuous condition values known for every patch (e.g. a
        thickness or a dose), besides or instead of the class (``n_classes``, ``class_names``).
    intensity_invariant : bool or None
        Each patch is brought to the training patches' typical level and contrast (its own
        mean and standard deviation replaced by theirs) before the encoder and the likelihood
        see it, so z holds the shape of the neighbourhood, not its brightness (which Detect
        measures per column, and which took z1 on real HAADF images: correlation 0.99 on
        SrTiO3). Decodings are at that typical level and contrast. ``None`` (default): on for
        ``rvae`` when the likelihood resolves to Gaussian (grey intensities, decided from the
        training patches with the likelihood), off otherwise (the shift-VAE's grid maps keep
        brightness domains; the class models were tuned on raw intensities).
    """

    kind: str
    patch_shape: tuple = (48, 48)
    latent_dim: int = 2
    invariances: tuple = ("rotation", "translation")
    translation_prior: float | None = None
    angle_prior: str = "normal"
    angle_prior_scale: float = 1.0
    scale_prior: float = 0.1
    shift_scale: float = 1.0
    n_classes: int = 0
    class_names: tuple = ()
    hidden: tuple = (128, 128)
    activation: str = "tanh"
    likelihood: str | None = None
    canonical_classifier: bool = True
    angle_hint: bool | None = None
    pose_templates: bool | str | None = None
    coord_features: int | None = None
    max_frequency: float = 0.25
    posterior_init_std: float = 0.0
    film: bool = False
    template: bool | None = None
    class_film: bool | None = None
    condition_names: tuple = ()
    class_template: bool | None = None
    intensity_invariant: bool | None = None

    def __post_init__(self):
        self.patch_shape = tuple(int(s) for s in _tuple(self.patch_shape))
        self.invariances = _tuple(self.invariances)
        self.class_names = tuple(str(c) for c in _tuple(self.class_names))
        self.hidden = tuple(int(h) for h in _tuple(self.hidden))
        if self.translation_prior is None:
            self.translation_prior = default_translation_prior(self.kind)
        self.translation_prior = float(self.translation_prior)
        if self.coord_features is None:
            self.coord_features = 0 if self.kind in ("ss-rvae", "crvae") else DEFAULT_COORD_FEATURES
        self.coord_features = int(self.coord_features)
        if self.template is None:
            self.template = self.kind in ("rvae", "shift-vae", "jrvae")
        self.template = bool(self.template)
        self.condition_names = tuple(str(c) for c in _tuple(self.condition_names))
        if self.kind in CLASS_KINDS + ("crvae",):  # names from the count, or the count
            if not self.class_names and self.n_classes:
                self.class_names = tuple(f"class {i}" for i in range(self.n_classes))
            if self.class_names and not self.n_classes:
                self.n_classes = len(self.class_names)
        if self.class_film is None:
            self.class_film = self.kind == "crvae"
        self.class_film = bool(self.class_film)
        # jrvae: class images with its own pose templates (resolved below)
        images_follow_templates = self.class_template is None and self.kind == "jrvae"
        if self.class_template is None:
            self.class_template = self.kind in ("ss-rvae", "crvae")
        self.class_template = bool(self.class_template)
        if self.kind == "vae":
            self.invariances = ()
        elif self.kind == "shift-vae":
            self.invariances = ("translation",)
        if self.likelihood is None:
            # ss-rvae: its label weight is tuned on the Bernoulli loss scale (with the Gaussian
            # one, two-class grey blobs fell from > 0.8 to 0.55 accuracy: test_inference)
            self.likelihood = "bernoulli" if self.kind == "ss-rvae" else "auto"
        if self.angle_hint is None:
            self.angle_hint = self.kind in ("rvae", "jrvae")
        self.angle_hint = bool(self.angle_hint) and "rotation" in self.invariances
        if self.pose_templates is None:
            self.pose_templates = "replace" if self.kind in ("ss-rvae", "jrvae", "rvae") else False
        if isinstance(self.pose_templates, str) and self.pose_templates != "replace":
            raise InputError(
                f"pose_templates must be True, False, None or 'replace', got {self.pose_templates!r}"
            )
        if self.pose_templates != "replace":
            self.pose_templates = bool(self.pose_templates)
        if not (self.kind in ("ss-rvae", "jrvae", "rvae") and "rotation" in self.invariances):
            self.pose_templates = False
        if images_follow_templates:
            self.class_template = bool(self.pose_templates)
        if self.intensity_invariant is None and self.kind != "rvae":
            self.intensity_invariant = False
        if self.intensity_invariant is not None:
            self.intensity_invariant = bool(self.intensity_invariant)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InputError` when a field is out of its domain."""
        if self.kind not in MODEL_KINDS:
            raise InputError(f"unknown model kind {self.kind!r}; choose one of {MODEL_KINDS}")
        if len(self.patch_shape) != 2 or min(self.patch_shape) < 8:
            raise InputError(
                f"patch_shape must be (H, W) with both sides >= 8 pixels, got {self.patch_shape}"
            )
        if self.latent_dim < 1:
            raise InputError(f"latent_dim must be >= 1, got {self.latent_dim}")
        bad = [i for i in self.invariances if i not in INVARIANCES]
        if bad:
            raise InputError(f"unknown invariance(s) {bad}; choose among {INVARIANCES}")
        if self.angle_prior not in ANGLE_PRIORS:
            raise InputError(f"angle_prior must be one of {ANGLE_PRIORS}, got {self.angle_prior!r}")
        if not self.angle_prior_scale > 0:
            raise InputError("angle_prior_scale must be > 0 (radians)")
        assert self.translation_prior is not None  # __post_init__ resolved it
        if not self.translation_prior > 0 or not self.scale_prior > 0:
            raise InputError("translation_prior and scale_prior must be > 0")
        if not 0 < self.shift_scale <= 1:
            raise InputError(f"shift_scale (k) must satisfy 0 < k <= 1, got {self.shift_scale}")
        if self.likelihood not in LIKELIHOODS:
            raise InputError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.activation not in ACTIVATIONS:
            raise InputError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        assert self.coord_features is not None  # __post_init__ resolved it
        if self.coord_features < 0 or not self.max_frequency > 0 or self.posterior_init_std < 0:
            raise InputError(
                "coord_features and posterior_init_std must be >= 0, max_frequency > 0"
            )
        if not self.hidden or min(self.hidden) < 1:
            raise InputError(f"hidden must list positive layer widths, got {self.hidden}")
        if self.kind in CLASS_KINDS and self.n_classes < 2:
            what = "the classes you labeled" if self.kind == "ss-rvae" else "the classes to find"
            raise InputError(f"an {self.kind} needs n_classes >= 2 ({what})")
        if self.kind == "crvae" and (
            self.n_classes == 1 or (self.n_classes < 2 and not self.condition_names)
        ):
            raise InputError(
                "a crvae needs a known class for every patch (n_classes >= 2) "
                "and/or continuous condition values (condition_names)"
            )
        if self.kind in CLASS_KINDS + ("crvae",) and len(self.class_names) != self.n_classes:
            raise InputError(
                f"class_names has {len(self.class_names)} names for {self.n_classes} classes"
            )
        if self.kind in CLASS_KINDS and len(set(self.class_names)) != len(self.class_names):
            raise InputError(f"class_names must all differ, got {list(self.class_names)}")
        names = self.class_names + self.condition_names
        if self.kind == "crvae" and len(set(names)) != len(names):
            raise InputError(f"class and condition names must all differ, got {list(names)}")

    def to_dict(self) -> dict:
        """JSON-safe dictionary of all fields (tuples become lists)."""
        d = asdict(self)
        for key, value in d.items():
            if isinstance(value, tuple):
                d[key] = list(value)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`.

        Fields missing from ``d`` (a model saved before they existed) take the value that
        reproduces the model as it was built then (``_LEGACY_MODEL_FIELDS``), not today's default.
        """
        return _from_dict(cls, {**_LEGACY_MODEL_FIELDS, **d})


#: values of fields added after format 1 that rebuild older saved models exactly
_LEGACY_MODEL_FIELDS = {
    "coord_features": 0,
    "max_frequency": 0.25,
    "posterior_init_std": 0.0,
    "film": False,
    "template": False,
    "class_film": False,
    "condition_names": [],
    "class_template": False,
    "intensity_invariant": False,
}


def _from_dict(cls, d: dict):
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise InputError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
    return cls(**d)


__all__ = [
    "ACTIVATIONS",
    "ANGLE_PRIORS",
    "CLASS_KINDS",
    "DEFAULT_COORD_FEATURES",
    "INVARIANCES",
    "LIKELIHOODS",
    "MODEL_KINDS",
    "ModelConfig",
    "default_translation_prior",
]
