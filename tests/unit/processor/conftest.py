"""The `xp` fixture: every kernel test runs on NumPy, and on CuPy when a GPU is present."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pytest
from PIL import Image
from skimage import data

from photostore.processor.arrays import cuda_problem


def _cupy_or_skip() -> ModuleType:
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        pytest.skip("no CuPy installed (the optional 'gpu' extra), so no GPU run")
    problem = cuda_problem()
    if problem is not None:
        pytest.skip(f"CuPy is installed but CUDA cannot run kernels: {problem}")
    return cupy


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "numpy":
        return np
    return _cupy_or_skip()


@pytest.fixture(params=["astronaut", "coffee", "chelsea", "rocket"])
def photo(request: pytest.FixtureRequest) -> Image.Image:
    """A real photograph that scikit-image ships, as an RGB Pillow image."""
    return Image.fromarray(getattr(data, request.param)()).convert("RGB")
