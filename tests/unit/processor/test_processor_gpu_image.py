"""The GPU image is built from a lock that carries the CUDA runtime libraries as wheels."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
# What CuPy loads for our kernels: NVRTC compiles them, cudart runs them.
CUDA_RUNTIME_WHEELS = {"nvidia-cuda-nvrtc-cu12", "nvidia-cuda-runtime-cu12"}


def _pins(lock: str) -> dict[str, str]:
    text = (REPO_ROOT / lock).read_text()
    return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", text, re.MULTILINE))


def _sync_targets(extras: str) -> list[str]:
    """The files `uv pip sync` reads in the Dockerfile, expanded by a shell with EXTRAS set."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    arguments = re.findall(r"uv pip sync --python \S+ (\S+)", dockerfile)
    assert arguments, "the Dockerfile installs no lock with `uv pip sync`"
    expanded = subprocess.run(
        ["bash", "-c", "echo " + " ".join(arguments)],
        env={"EXTRAS": extras},
        capture_output=True,
        text=True,
        check=True,
    )
    return expanded.stdout.split()


def test_gpu_extra_brings_the_cuda_toolkit_wheels() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    (cupy,) = project["optional-dependencies"]["gpu"]
    assert cupy.startswith("cupy-cuda12x[ctk]")


def test_gpu_lock_pins_cupy_and_the_cuda_runtime() -> None:
    pins = _pins("requirements-gpu.lock")
    assert "cupy-cuda12x" in pins
    assert {name: pins.get(name, "")[:3] for name in CUDA_RUNTIME_WHEELS} == dict.fromkeys(
        CUDA_RUNTIME_WHEELS, "12."
    )


def test_gpu_lock_agrees_with_the_main_lock() -> None:
    main, gpu = _pins("requirements.lock"), _pins("requirements-gpu.lock")
    assert {name: gpu.get(name) for name in main} == main


def test_dockerfile_installs_the_gpu_image_from_the_gpu_lock() -> None:
    assert _sync_targets("gpu") == ["requirements-gpu.lock"]
    assert _sync_targets("") == ["requirements.lock"]
    dockerfile = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    copied = re.search(r"^COPY (.*) \./$", dockerfile, re.MULTILINE)
    assert copied is not None and "requirements-gpu.lock" in copied.group(1).split()
    # Nothing is resolved at build time: every other install takes no dependencies.
    installs = re.findall(r"uv pip install [^&\n]*", dockerfile)
    assert installs and all("--no-deps" in line for line in installs)
