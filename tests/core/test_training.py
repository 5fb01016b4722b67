"""The training generator: determinism, stop, independence of models, errors."""

import threading

import numpy as np
import pytest
import torch
from _model_data import two_class_blobs

from napari_ivae.core.errors import DeviceError, InputError, TrainingError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import encode
from napari_ivae.core.models.training import TrainEvent, TrainResult, _Batches, fit, train

FAST = dict(batch_size=32, lr=3e-3, pixels_per_step=64, device="cpu")


@pytest.fixture(scope="module")
def blobs():
    return two_class_blobs(60, 16)


def _rvae():
    return build_model(ModelConfig("rvae", (16, 16), hidden=(32, 32)))


def test_generator_yields_events_and_returns_result(blobs):
    x, _ = blobs
    gen = train(_rvae(), x, config=TrainConfig(epochs=2, **FAST))
    events = []
    with pytest.raises(StopIteration) as done:
        while True:
            events.append(next(gen))
    result = done.value.value
    assert isinstance(result, TrainResult) and not result.stopped
    assert all(isinstance(e, TrainEvent) for e in events)
    assert len(events) == events[0].total_steps == 2 * events[0].steps_per_epoch
    assert {"recon", "kl"} <= set(events[0].terms)
    assert [h["epoch"] for h in result.history] == [0, 1]
    assert result.seed == 0 and result.device == "cpu" and result.timings["total_s"] > 0


def test_same_seed_same_result_and_global_rng_untouched(blobs):
    x, _ = blobs
    torch.manual_seed(7)
    state = torch.get_rng_state()
    runs = [fit(_rvae(), x, config=TrainConfig(epochs=1, seed=3, **FAST)) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state)
    assert runs[0].history[0]["loss"] == runs[1].history[0]["loss"]
    for pa, pb in zip(runs[0].model.parameters(), runs[1].model.parameters()):
        assert torch.equal(pa, pb)
    other = fit(_rvae(), x, config=TrainConfig(epochs=1, seed=4, **FAST))
    assert other.history[0]["loss"] != runs[0].history[0]["loss"]


def test_stop_keeps_a_usable_partial_model(blobs):
    x, _ = blobs
    stop = threading.Event()
    seen = []

    def callback(event):
        seen.append(event)
        if len(seen) == 3:
            stop.set()

    result = fit(
        _rvae(), x, config=TrainConfig(epochs=50, **FAST), callback=callback, stop_event=stop
    )
    assert result.stopped and len(seen) == 3
    enc = encode(result.model, x[:5])
    assert np.isfinite(enc.z_mean).all() and enc.angle.shape == (5,)


def test_two_models_trained_alternately_both_learn(blobs):
    """No global state (pyroVED's param store): interleaved training must help both models,
    exactly as much as training each alone."""
    x, labels = blobs
    y = np.where(np.arange(len(labels)) % 6 == 0, labels, -1)

    def runs():
        # Bernoulli: a loss that stays positive, so "falls" means learning (the grey blobs
        # would get the Gaussian likelihood, whose loss can cross 0)
        rvae = build_model(ModelConfig("rvae", (16, 16), hidden=(32, 32), likelihood="bernoulli"))
        ss = build_model(
            ModelConfig("ss-rvae", (16, 16), hidden=(32, 32), n_classes=2, likelihood="bernoulli")
        )
        return (
            train(rvae, x, config=TrainConfig(epochs=6, seed=1, **FAST)),
            train(ss, x, y, config=TrainConfig(epochs=6, seed=2, **FAST)),
        )

    losses = {0: [], 1: []}
    first, second = runs()
    for which, gen in [(0, first), (1, second)] * 10_000:
        try:
            losses[which].append(next(gen).loss)
        except StopIteration:
            if all(len(v) == len(losses[0]) for v in losses.values()):
                break
    alone = [[event.loss for event in gen] for gen in runs()]
    for which, values in losses.items():
        assert np.allclose(values, alone[which][: len(values)], rtol=1e-5)
        n = len(values) // 4
        assert np.mean(values[-n:]) < 0.95 * np.mean(values[:n])  # both learn


def test_every_semi_supervised_batch_has_labeled_patches():
    labels = torch.full((10_000,), -1)
    labels[:5] = torch.tensor([0, 1, 0, 1, 0])
    batches = _Batches(labels, 64, 16, torch.Generator().manual_seed(0))
    seen_unlabeled = []
    for idx in batches.epoch():
        assert (labels[idx] >= 0).sum() == 5  # all 5 labeled (min 16, capped at 5)
        seen_unlabeled.append(idx[labels[idx] < 0])
    covered = torch.cat(seen_unlabeled)
    assert len(covered) == len(torch.unique(covered)) == 9_995


def test_torch_runtime_error_becomes_training_error(blobs, monkeypatch):
    x, _ = blobs
    model = _rvae()

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(model, "loss", broken)
    with pytest.raises(TrainingError, match="out of memory.*batch size") as info:
        fit(model, x, config=TrainConfig(epochs=1, **FAST))
    assert not isinstance(info.value, RuntimeError)


def test_nan_loss_suggests_lower_learning_rate(blobs, monkeypatch):
    x, _ = blobs
    model = _rvae()
    monkeypatch.setattr(model, "loss", lambda *a, **k: (torch.tensor(float("nan")), {}))
    with pytest.raises(TrainingError, match="lower the learning rate"):
        fit(model, x, config=TrainConfig(epochs=1, **FAST))


def test_bad_inputs_are_reported_before_training(blobs):
    x, labels = blobs
    ss = build_model(ModelConfig("ss-rvae", (16, 16), hidden=(32, 32), n_classes=2))
    cfg = TrainConfig(epochs=1, **FAST)
    with pytest.raises(InputError, match="no labeled patch"):
        fit(ss, x, np.full(len(x), -1), cfg)
    with pytest.raises(InputError, match="only class 0"):
        fit(ss, x, np.where(labels == 0, 0, -1), cfg)
    with pytest.raises(InputError, match="out of range"):
        fit(ss, x, np.full(len(x), 5), cfg)
    with pytest.raises(InputError, match="expects 16x16"):
        fit(_rvae(), np.zeros((4, 20, 20), np.float32), config=cfg)
    with pytest.raises(InputError, match="empty"):
        fit(_rvae(), np.zeros((0, 16, 16), np.float32), config=cfg)
    with pytest.raises(DeviceError):
        fit(_rvae(), x, config=TrainConfig(epochs=1, batch_size=8, device="tpu"))


@pytest.mark.parametrize("n_patches", [8, 32, 40])
def test_onecycle_schedule_handles_a_handful_of_steps(n_patches):
    rng = np.random.default_rng(0)
    x = rng.random((n_patches, 12, 12)).astype(np.float32)
    model = build_model(ModelConfig("vae", (12, 12), hidden=(16,)))
    result = fit(
        model, x, config=TrainConfig(epochs=1, batch_size=8, lr_schedule="onecycle", device="cpu")
    )
    assert len(result.history) == 1 and np.isfinite(result.history[0]["loss"])


def test_min_steps_raises_the_epochs_of_a_small_patch_set():
    rng = np.random.default_rng(0)
    x = rng.random((40, 12, 12)).astype(np.float32)
    model = build_model(ModelConfig("vae", (12, 12), hidden=(16,)))
    config = TrainConfig(epochs=2, batch_size=8, min_steps=30, device="cpu")
    assert config.epochs_for(5) == 6 and config.epochs_for(100) == 2
    result = fit(model, x, config=config)
    assert len(result.history) == 6


def test_grid_neighbours_are_the_right_and_lower_tiles_of_the_same_frame():
    from napari_ivae.core.models.training import grid_neighbours

    idx = torch.randperm(2 * 3 * 4, generator=torch.Generator().manual_seed(0))[:16]
    rows, nxt = grid_neighbours(idx, (3, 4))
    pairs = {(int(idx[r]), int(n)) for r, n in zip(rows, nxt)}
    expected = set()
    for t in idx.tolist():
        frame, rest = divmod(t, 12)
        row, col = divmod(rest, 4)
        if col + 1 < 4:
            expected.add((t, t + 1))
        if row + 1 < 3:
            expected.add((t, t + 4))
    assert pairs == expected and len(rows) == len(expected)


def test_smoothness_term_lowers_the_roughness_of_grid_codes():
    from napari_ivae.core.models.training import roughness

    rng = np.random.default_rng(0)
    patches = rng.random((8 * 8, 8, 8)).astype(np.float32)  # independent noise tiles
    rough = {}
    for lam in (0.0, 0.8):  # per pixel: 0.8 * 64 px = 51 per tile
        model = build_model(ModelConfig("shift-vae", patch_shape=(8, 8), hidden=(32,)))
        config = TrainConfig.defaults_for(  # plain TV on every z (the term's first form)
            "shift-vae",
            epochs=100,
            batch_size=64,
            device="cpu",
            smoothness=lam,
            smoothness_form="tv",
            smoothness_latents=0,
        )
        result = fit(model, patches, None, config, grid_shape=(8, 8))
        assert ("roughness" in result.history[-1]) == (lam > 0)
        with torch.no_grad():
            rough[lam] = float(roughness(result.model, torch.from_numpy(patches), (8, 8)))
    assert rough[0.8] < 0.75 * rough[0.0]  # measured 2.15 vs 3.50 (at 50 per tile)
    with pytest.raises(InputError, match="whole grids"):
        fit(
            build_model(ModelConfig("shift-vae", patch_shape=(8, 8))),
            patches[:60],
            None,
            TrainConfig(epochs=1, smoothness=1.0, device="cpu"),
            grid_shape=(8, 8),
        )
    with pytest.raises(InputError, match="smoothness"):
        TrainConfig(smoothness=-1.0)
    with pytest.raises(InputError, match="smoothness_form"):
        TrainConfig(smoothness_form="l2")
    with pytest.raises(InputError, match="smoothness_latents"):
        TrainConfig(smoothness_latents=-1)
    with pytest.raises(InputError, match="psi_slack"):
        TrainConfig(psi_slack=float("nan"))


def test_designated_latent_is_smoothed_and_the_others_are_left_free():
    from napari_ivae.core.models.training import roughness

    rng = np.random.default_rng(0)
    patches = torch.from_numpy(rng.random((8 * 8, 8, 8)).astype(np.float32))  # noise tiles
    per_z = {}
    for lam, latents in ((0.0, 0), (0.8, 1), (0.8, 0)):
        model = build_model(ModelConfig("shift-vae", patch_shape=(8, 8), hidden=(32,)))
        config = TrainConfig.defaults_for(
            "shift-vae",
            epochs=100,
            batch_size=64,
            device="cpu",
            smoothness=lam,
            smoothness_form="tv-relative",
            smoothness_latents=latents,
        )
        result = fit(model, patches.numpy(), None, config, grid_shape=(8, 8))
        with torch.no_grad():
            both = float(roughness(result.model, patches, (8, 8), "tv-relative"))
            z1 = float(roughness(result.model, patches, (8, 8), "tv-relative", latents=1))
        per_z[(lam, latents)] = (z1, both - z1)
    plain, designated, every = per_z[(0.0, 0)], per_z[(0.8, 1)], per_z[(0.8, 0)]
    # (noise tiles: the relative roughness falls slowly; measured 2.09 -> 1.77 for z1)
    assert designated[0] < 0.9 * plain[0]  # z1 smoothed
    assert every[1] < 0.9 * plain[1]  # on every z, z2 too
    assert designated[1] > 0.95 * plain[1]  # designated: z2 left free (1.98 -> 1.98)


def test_the_term_defaults_to_scale_free_tv_on_z1_and_old_configs_keep_theirs():
    config = TrainConfig.defaults_for("shift-vae")
    assert config.smoothness == 0  # off: the default model is the one without the term
    assert (config.smoothness_form, config.smoothness_latents) == ("tv-relative", 1)
    # a configuration saved before the fields (or their defaults) existed reads as trained
    saved = {k: v for k, v in config.to_dict().items() if not k.startswith("smoothness_")}
    old = TrainConfig.from_dict({**saved, "smoothness": 1.0})
    assert (old.smoothness_form, old.smoothness_latents) == ("tv", 0)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_roughness_forms_tv_and_gmrf():
    from napari_ivae.core.models.training import roughness

    class Fixed:  # an "encoder" whose latent means are the patches' first pixel, twice
        class layout:
            @staticmethod
            def slices():
                return {"z": slice(0, 2)}

        @staticmethod
        def normalize(x):
            return x

        @staticmethod
        def encode_gaussian(x):
            first = x[:, 0, 0]
            return torch.stack([first, first], 1), None

    values = torch.tensor([0.0, 2.0, 0.0, 2.0]).reshape(4, 1, 1)  # 2x2 block, columns differ by 2
    assert float(roughness(Fixed, values, (2, 2), "tv")) == pytest.approx(2 * 2 * 2 / 4)
    assert float(roughness(Fixed, values, (2, 2), "gmrf")) == pytest.approx(2 * 2 * 4 / 4)
    # the first latent only; relative: over the latent's spread (std of 0, 2, 0, 2)
    assert float(roughness(Fixed, values, (2, 2), "tv", latents=1)) == pytest.approx(2 * 2 / 4)
    spread = float(torch.tensor([0.0, 2.0, 0.0, 2.0]).std())
    relative = float(roughness(Fixed, values, (2, 2), "tv-relative"))
    assert relative == pytest.approx(2 * 2 * 2 / spread / 4, rel=1e-3)
    assert float(roughness(Fixed, 10 * values, (2, 2), "tv-relative")) == pytest.approx(
        relative, rel=1e-3
    )  # scale-free: a shrunk (or stretched) map is no smoother
    # a batch of one tile has no spread: the relative term is 0, not NaN (the last batch of a
    # grid of 289 tiles in batches of 32 is one tile)
    one = roughness(Fixed, values[:1], torch.tensor([0]), "tv-relative", x_next=values[1:2])
    assert float(one) == 0.0
    # pairs given by position: tiles 0 and 1 against neighbours 2 and 2
    rows, x_next = torch.tensor([0, 1]), torch.tensor([2.0, 2.0]).reshape(2, 1, 1)
    assert float(roughness(Fixed, values, rows, "tv", x_next=x_next)) == pytest.approx(2 * 2 / 4)


def test_psi_factor_multiplies_the_loss_by_slack_plus_map_edges():
    from napari_ivae.core.models.training import map_psi

    rng = np.random.default_rng(0)
    patches = rng.random((6 * 6, 8, 8)).astype(np.float32)
    model = build_model(ModelConfig("shift-vae", patch_shape=(8, 8), hidden=(16,)))
    config = TrainConfig.defaults_for(
        "shift-vae", epochs=2, batch_size=36, device="cpu", psi_slack=0.1
    )
    result = fit(model, patches, None, config, grid_shape=(6, 6))
    factors = [h["psi_factor"] for h in result.history]
    assert all(f > 0.1 for f in factors)
    assert factors[-1] == pytest.approx(
        0.1 + map_psi(result.model, torch.from_numpy(patches), (6, 6)), rel=0.5
    )
    plain = fit(
        build_model(ModelConfig("shift-vae", patch_shape=(8, 8), hidden=(16,))),
        patches,
        None,
        TrainConfig.defaults_for("shift-vae", epochs=2, batch_size=36, device="cpu"),
        grid_shape=(6, 6),
    )
    assert "psi_factor" not in plain.history[-1]
