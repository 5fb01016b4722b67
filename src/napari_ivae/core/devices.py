"""Compute devices: ``resolve_device("auto" | "cpu" | "cuda" | "cuda:1" | "mps")``."""

from __future__ import annotations

import torch

from napari_ivae.core.errors import DeviceError


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list:
    """Names of the usable devices, e.g. ``["cpu"]`` or ``["cpu", "cuda:0", "mps"]``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def resolve_device(name="auto") -> torch.device:
    """Turn a device name into a ``torch.device`` that exists on this machine.

    Parameters
    ----------
    name : str or torch.device
        ``"auto"`` picks cuda > mps > cpu; ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.

    Raises
    ------
    DeviceError
        When the name is unknown or the device is absent.
    """
    if isinstance(name, torch.device):
        name = str(name)
    text = (name or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not _mps_available():
            raise DeviceError(
                "device 'mps' (Apple GPU) is not available on this machine; "
                f"use one of {available_devices()} or 'auto'"
            )
        return torch.device("mps")
    if text == "cuda" or text.startswith("cuda:"):
        index = text.partition(":")[2]
        if index and not index.isdigit():
            raise DeviceError(f"unknown device {name!r}; write 'cuda' or 'cuda:N' with N a number")
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} was requested but CUDA is not available (no NVIDIA GPU or a "
                f"CPU-only torch build); use one of {available_devices()} or 'auto'"
            )
        if index and int(index) >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r} does not exist: this machine has {torch.cuda.device_count()} "
                f"CUDA device(s); use one of {available_devices()}"
            )
        return torch.device(text)
    raise DeviceError(
        f"unknown device {name!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' "
        f"(available here: {available_devices()})"
    )
