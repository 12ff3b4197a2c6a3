"""The array module (`xp`) the kernels run on: NumPy on the host, CuPy on a GPU.

Kernels never ask which device they are on; they find the module from their input with
`array_module`. The device is chosen once, at the edge, with `device_module` and arrays move
with `to_device` / `to_host`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Literal, TypeAlias

import numpy as np

# numpy.ndarray or cupy.ndarray; the two share the operations the kernels use.
Array: TypeAlias = Any
Device = Literal["auto", "cpu", "gpu"]


def _cupy() -> ModuleType | None:
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        return None
    return cupy


def array_module(*arrays: Array) -> ModuleType:
    """The module that owns `arrays`: cupy for device arrays, numpy otherwise."""
    cupy = _cupy()
    if cupy is None:
        return np
    module: ModuleType = cupy.get_array_module(*arrays)
    return module


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    cupy = _cupy()
    if cupy is None:
        return False
    try:
        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # CUDA driver missing or broken: behave as "no GPU".
        return False


def device_module(device: Device) -> ModuleType:
    """The array module for a configured device; 'gpu' without a GPU is an error."""
    if device == "cpu":
        return np
    if gpu_available():
        cupy = _cupy()
        assert cupy is not None
        return cupy
    if device == "gpu":
        raise RuntimeError("PROCESSOR_DEVICE=gpu but CuPy or a CUDA device is not available")
    return np


def to_device(xp: ModuleType, host: np.ndarray[Any, Any]) -> Array:
    return xp.asarray(host)


def to_host(array: Array) -> np.ndarray[Any, Any]:
    if isinstance(array, np.ndarray):
        return array
    host: np.ndarray[Any, Any] = array.get()
    return host
