"""torch imported in a thread of its own once per process (the Train dock starts it), and the
devices it then finds: the GUI thread never imports torch."""

from __future__ import annotations

import threading

DEVICE_POLL_MS = 250  # how often an open Train dock looks for the warm-up's device list
_warm_up: list[threading.Thread] = []  # the one import thread of this process
_devices_found: list[list[str]] = []  # the devices it found, once known


def warm_up_torch() -> threading.Thread | None:
    """Import torch, and ``torch._dynamo`` (which the first optimizer of the process imports),
    in a background thread, once per process, then list the usable devices
    (:func:`known_devices`); returns the thread (None when started already).

    Imported by the first training run's worker instead, these 3-5 s of module code held the
    GIL in stretches that a loaded machine stretched further: the viewer's GUI thread stood
    still for 0.6-0.7 s at a time (0.1-0.2 s on a second run), while the user watched the
    progress bar wait for its first step. Started when the Train dock opens, the import is
    over before patches are cut.
    """
    if _warm_up:
        return None

    def run() -> None:
        try:
            import torch  # noqa: F401
            import torch._dynamo  # noqa: F401

            from napari_ivae.core.devices import available_devices

            _devices_found.append(list(available_devices()))
        except Exception:  # noqa: BLE001 - a training run imports (and reports) it again
            _devices_found.append(["cpu"])

    thread = threading.Thread(target=run, name="napari-ivae torch import", daemon=True)
    _warm_up.append(thread)
    thread.start()
    return thread


def known_devices() -> list[str] | None:
    """The usable devices (``["cpu", "cuda:0"]``...) once the warm-up has listed them, else
    None: listing them imports torch, which the dock must not do in the GUI thread."""
    return list(_devices_found[0]) if _devices_found else None
