"""The array module (`xp`) the kernels run on: NumPy on the host, CuPy on a GPU.

Kernels never ask which device they are on; they find the module from their input with
`array_module`. The device is chosen once, at the edge, with `device_module` and arrays move
with `to_device` / `to_host`.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any, Literal, TypeAlias

import numpy as np

# numpy.ndarray or cupy.ndarray; the two share the operations the kernels use.
Array: TypeAlias = Any
Device = Literal["auto", "cpu", "gpu"]

log = logging.getLogger(__name__)


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


class GpuUnavailableError(RuntimeError):
    """The GPU was asked for and CUDA cannot run our kernels here."""


def _square_on_device(cupy: ModuleType) -> list[float]:
    """Compile (NVRTC) and run a tiny kernel: what every kernel of ours needs from CUDA."""
    square = cupy.ElementwiseKernel("float32 x", "float32 y", "y = x * x", "photostore_probe")
    result: list[float] = square(cupy.arange(4, dtype=cupy.float32)).get().tolist()
    return result


def cuda_problem() -> str | None:
    """Why CUDA cannot run the kernels in this process, or None when a probe kernel ran.

    Seeing a device is not enough: without the CUDA runtime libraries (NVRTC above all)
    CuPy counts the GPUs and then fails on the first kernel it compiles.
    """
    cupy = _cupy()
    if cupy is None:
        return "CuPy is not installed (install the 'gpu' extra)"
    try:
        devices = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        return f"no usable CUDA driver or device ({type(exc).__name__}: {exc})"
    if devices == 0:
        return "CuPy sees no CUDA device"
    try:
        squares = _square_on_device(cupy)
    except Exception as exc:
        return f"a test kernel failed to compile or run ({type(exc).__name__}: {exc})"
    if squares != [0.0, 1.0, 4.0, 9.0]:
        return f"a test kernel computed {squares} instead of [0, 1, 4, 9]"
    return None


def gpu_available() -> bool:
    """True when CuPy imports, sees a CUDA device and a test kernel compiles and runs."""
    return cuda_problem() is None


def device_module(device: Device) -> ModuleType:
    """The array module for a configured device; 'gpu' without a working GPU is an error.

    'auto' falls back to NumPy (saying why); 'gpu' raises `GpuUnavailableError` so that a
    GPU pod whose CUDA is broken never starts, rather than running on its CPU.
    """
    if device == "cpu":
        return np
    problem = cuda_problem()
    if problem is None:
        cupy = _cupy()
        assert cupy is not None
        return cupy
    if device == "gpu":
        raise GpuUnavailableError(f"PHOTOSTORE_PROCESSOR_DEVICE=gpu but {problem}")
    log.info("no GPU (%s): processing on NumPy", problem)
    return np


def to_device(xp: ModuleType, host: np.ndarray[Any, Any]) -> Array:
    return xp.asarray(host)


def to_host(array: Array) -> np.ndarray[Any, Any]:
    if isinstance(array, np.ndarray):
        return array
    host: np.ndarray[Any, Any] = array.get()
    return host
