"""Device resolution: auto picks what exists; absent or unknown devices raise DeviceError."""

import pytest
import torch

from napari_ivae.core.devices import available_devices, resolve_device
from napari_ivae.core.errors import DeviceError


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    auto = resolve_device("auto")
    expected = "cuda" if torch.cuda.is_available() else auto.type
    assert auto.type == expected
    assert "cpu" in available_devices()


@pytest.mark.parametrize("name", ["gpu", "tpu", "cuda:x", "cuda:-1"])
def test_unknown_device_names(name):
    with pytest.raises(DeviceError, match="device"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_absent_cuda_is_a_clear_device_error():
    with pytest.raises(DeviceError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="CUDA"):
        resolve_device("cuda:1")


def test_absent_mps_is_a_device_error():
    if "mps" in available_devices():
        pytest.skip("this machine has an Apple GPU")
    with pytest.raises(DeviceError, match="mps"):
        resolve_device("mps")
