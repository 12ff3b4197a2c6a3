"""The GPU is checked at start-up by compiling and running a kernel, not by counting devices.

CuPy is absent here, which is one real case; a fake `cupy` module stands in for "CuPy and a
device are there but kernels cannot be compiled" (a missing NVRTC).
"""

from __future__ import annotations

import os
import socket
import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from photostore.processor.arrays import GpuUnavailableError, cuda_problem, device_module
from photostore.processor.service import main

ENVIRONMENT = {
    "PHOTOSTORE_DATABASE_URL": "postgresql://u:p@127.0.0.1:9/photos",
    "PHOTOSTORE_KAFKA_BROKERS": "127.0.0.1:9",
    "PHOTOSTORE_S3_BUCKET": "photos",
}


class _Result:
    def __init__(self, values: list[float]) -> None:
        self.values = values

    def get(self) -> Any:
        return np.asarray(self.values, dtype=np.float32)


def fake_cupy(*, devices: int = 1, compile_error: str | None = None) -> ModuleType:
    """A stand-in for CuPy that sees `devices` GPUs and fails to compile when told to."""

    def kernel(*_args: Any) -> Any:
        if compile_error is not None:
            raise RuntimeError(compile_error)
        return lambda x: _Result([float(v) ** 2 for v in x])

    module = ModuleType("cupy")
    module.cuda = SimpleNamespace(  # type: ignore[attr-defined]
        runtime=SimpleNamespace(getDeviceCount=lambda: devices)
    )
    module.ElementwiseKernel = kernel  # type: ignore[attr-defined]
    module.arange = lambda n, dtype: list(range(n))  # type: ignore[attr-defined]
    module.float32 = np.float32  # type: ignore[attr-defined]
    return module


@pytest.fixture
def no_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import cupy` raise ImportError, whether or not it is installed.
    monkeypatch.setitem(sys.modules, "cupy", None)


def test_without_cupy_gpu_is_refused_and_auto_is_numpy(no_cupy: None) -> None:
    assert cuda_problem() == "CuPy is not installed (install the 'gpu' extra)"
    assert device_module("auto") is np
    with pytest.raises(GpuUnavailableError, match="DEVICE=gpu but CuPy is not installed"):
        device_module("gpu")


def test_a_kernel_that_cannot_compile_refuses_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = "CompileException: libnvrtc.so.12: cannot open shared object file"
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(compile_error=missing))
    with pytest.raises(GpuUnavailableError, match=r"failed to compile or run .*libnvrtc\.so\.12"):
        device_module("gpu")
    assert device_module("auto") is np


def test_no_device_refuses_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(devices=0))
    with pytest.raises(GpuUnavailableError, match="sees no CUDA device"):
        device_module("gpu")


def test_a_working_kernel_selects_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    working = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", working)
    assert cuda_problem() is None
    assert device_module("gpu") is working
    assert device_module("cpu") is np


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("cupy", ["absent", "compile_fails"])
def test_processor_refuses_to_start_on_a_broken_gpu_and_serves_no_health(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, cupy: str
) -> None:
    for key in list(os.environ):
        if key.startswith("PHOTOSTORE_"):
            monkeypatch.delenv(key)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in {
        **ENVIRONMENT,
        "PHOTOSTORE_PROCESSOR_DEVICE": "gpu",
        "PHOTOSTORE_METRICS_PORT": str(port),
    }.items():
        monkeypatch.setenv(key, value)
    module = None if cupy == "absent" else fake_cupy(compile_error="nvrtc: compilation failed")
    monkeypatch.setitem(sys.modules, "cupy", module)
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 3
    assert "refusing to start: PHOTOSTORE_PROCESSOR_DEVICE=gpu but" in caplog.text
    # No health or readiness endpoint ever came up for the kubelet to find ready.
    assert not _listening(port)
