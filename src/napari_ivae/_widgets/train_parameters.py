"""The Train dock's model and training parameters: their controls, the defaults each model
kind brings, the configurations they make, and the devices offered once the torch warm-up has
listed them."""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox

from napari_ivae._widgets.torch_warm_up import known_devices

KIND_CHOICES = [
    ("rVAE (rotation + translation)", "rvae"),
    ("shift-VAE (smooth maps)", "shift-vae"),
    ("joint rVAE (finds classes)", "jrvae"),
    ("ss-rVAE (uses your labels)", "ss-rvae"),
    ("conditional rVAE (every patch labeled)", "crvae"),
    ("VAE (no invariance)", "vae"),
]


class TrainParameters:
    """The parameter controls of :class:`~napari_ivae._widgets.train.TrainWidget` (a mixin:
    :meth:`_make_parameters` builds them in the dock's constructor)."""

    def _make_parameters(self) -> None:
        self.kind = ComboBox(choices=KIND_CHOICES, value="rvae", label="model")
        self.latent_dim = SpinBox(value=2, min=1, max=64, label="latent size")
        self.n_classes = SpinBox(
            value=4,
            min=2,
            max=64,
            label="classes",
            visible=False,
            tooltip="joint rVAE: number of classes to find (no labels)",
        )
        self.rotation = CheckBox(value=True, text="rotation invariant")
        self.translation = CheckBox(value=True, text="translation invariant")
        self.angle_prior_kind = ComboBox(
            choices=[("normal (papers)", "normal"), ("von Mises (circular)", "von_mises")],
            value="normal",
            label="angle prior",
        )
        self.angle_prior = FloatSpinBox(
            value=1.0, min=0.01, max=100.0, step=0.1, label="angle prior σ (rad)"
        )
        self.translation_prior = FloatSpinBox(
            value=0.1, min=0.001, max=1.0, step=0.01, label="shift prior σ"
        )
        self.shift_scale = FloatSpinBox(
            value=1.0, min=0.01, max=1.0, step=0.05, label="shift k", visible=False
        )
        self.beta_start = FloatSpinBox(value=1.0, min=0.0, max=100.0, step=0.1, label="β start")
        self.beta_end = FloatSpinBox(value=1.0, min=0.0, max=100.0, step=0.1, label="β end")
        self.beta_ramp = SpinBox(value=0, min=0, max=10000, label="β ramp (epochs)")
        self.smoothness = FloatSpinBox(
            value=0.0,
            min=0.0,
            max=1000.0,
            step=0.1,
            label="map smoothness λ",
            tooltip="grid patches only: weight (per patch pixel) of the latent maps' roughness "
            "across neighbouring tiles (0 = off; 2 shortened the phase boundary by 42-75 % "
            "on two real images at 1.4-1.7 % worse reconstruction)",
        )
        self.smoothness_latents = ComboBox(
            choices=[("z1 only (the phase map)", 1), ("all z", 0)],
            value=1,
            label="smooth",
            tooltip="z1 only: z1 becomes the phase map to segment, the other z keep the "
            "detail; all z: every latent map is smoothed",
        )
        self.smoothness_form = ComboBox(
            choices=[
                ("relative TV (scale-free)", "tv-relative"),
                ("TV (total variation)", "tv"),
                ("Gaussian MRF (squared)", "gmrf"),
            ],
            value="tv-relative",
            label="smoothness form",
            tooltip="relative TV: differences over the map's spread, so the map cannot shrink "
            "instead of smoothing; TV: absolute differences; MRF: squared differences",
        )
        self.epochs = SpinBox(value=30, min=1, max=100000, label="epochs")
        self.min_steps = SpinBox(
            value=0,
            min=0,
            max=10_000_000,
            label="min steps",
            tooltip="train at least this many optimizer steps: the epochs "
            "are raised on small patch sets (0 = exactly the "
            "epochs above)",
        )
        self.batch_size = SpinBox(value=128, min=1, max=100000, label="batch size")
        self.lr = FloatSpinBox(
            value=1e-3,
            min=1e-6,
            max=1.0,
            step=1e-4,
            label="learning rate",
            tooltip="peak learning rate (Adam). Left at the default, the rVAE takes 0.003 on "
            "near-binary patches (e.g. cut-out shapes); a value you set is used as it is",
        )
        self.lr.native.setDecimals(6)
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        # the CPU until the warm-up has imported torch and listed the others (a GPU, MPS)
        self.device = ComboBox(choices=known_devices() or ["cpu"], label="device")

    def _offer_devices(self) -> None:
        """Offer the devices the warm-up found (the choice made meanwhile is kept)."""
        found = known_devices()
        if found is None:
            return
        self._devices_timer.stop()
        if list(self.device.choices) != found:
            chosen = self.device.value
            self.device.choices = found
            self.device.value = chosen if chosen in found else found[0]

    # ---- parameters ---------------------------------------------------------------------
    def _on_kind(self, kind: str) -> None:
        from napari_ivae.core.models.config import TrainConfig, default_translation_prior

        defaults = TrainConfig.defaults_for(kind)
        self.epochs.value, self.batch_size.value = defaults.epochs, defaults.batch_size
        self.min_steps.value = defaults.min_steps
        self.lr.value = defaults.lr
        self.beta_start.value, self.beta_end.value = defaults.beta_start, defaults.beta_end
        self.beta_ramp.value = defaults.beta_ramp_epochs
        rotating = kind in ("rvae", "ss-rvae", "jrvae", "crvae")
        self.n_classes.visible = kind == "jrvae"
        self.rotation.visible = self.translation.visible = rotating
        self.angle_prior.visible = self.angle_prior_kind.visible = rotating
        self.translation_prior.visible = kind != "vae"
        self.translation_prior.value = default_translation_prior(kind)
        self.shift_scale.visible = kind == "shift-vae"

    def configs(self, patch_shape: tuple, class_names: list[str] | None = None) -> tuple:
        """``(ModelConfig, TrainConfig)`` from the widget's values."""
        from napari_ivae.core.models.config import ModelConfig, TrainConfig

        kind = self.kind.value
        invariances = tuple(
            name
            for name, box in (("rotation", self.rotation), ("translation", self.translation))
            if box.value
        )
        names = tuple(class_names or ())
        if kind == "jrvae":
            names = tuple(f"class {i + 1}" for i in range(self.n_classes.value))
        model_config = ModelConfig(
            kind=kind,
            patch_shape=tuple(patch_shape),
            latent_dim=self.latent_dim.value,
            invariances=invariances,
            translation_prior=self.translation_prior.value,
            angle_prior=self.angle_prior_kind.value,
            angle_prior_scale=self.angle_prior.value,
            shift_scale=self.shift_scale.value,
            n_classes=len(names),
            class_names=names,
        )
        train_config = TrainConfig.defaults_for(
            kind,
            epochs=self.epochs.value,
            batch_size=self.batch_size.value,
            lr=self.lr.value,
            seed=self.seed.value,
            device=self.device.value,
            min_steps=self.min_steps.value,
            beta_start=self.beta_start.value,
            beta_end=self.beta_end.value,
            beta_ramp_epochs=self.beta_ramp.value,
            smoothness=self.smoothness.value if kind != "ss-rvae" else 0.0,
            smoothness_form=self.smoothness_form.value,
            smoothness_latents=self.smoothness_latents.value,
        )
        return model_config, train_config
