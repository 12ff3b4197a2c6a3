"""Processor benchmark: thumbnails and the per-photo pipeline against pyvips, on 12 MP JPEGs.

The photos are real ones that scikit-image ships (astronaut, coffee, chelsea, rocket),
upscaled to 4000x3000 and saved as JPEG quality 90, the size of a phone camera's output.

Prints `RESULT name value unit` lines:
- thumbnail_cpu_photos_per_s: our 250 px WebP grid thumbnail (read file, draft-decode, Lanczos
  resize on NumPy, encode), one photo at a time;
- thumbnail_pyvips_photos_per_s: pyvips `Image.thumbnail` + WebP encode of the same files,
  libvips' operation cache off so every call decodes;
- thumbnail_cpu_vs_pyvips: the ratio of the two (goal >= 0.5);
- pipeline_cpu_photos_per_s: the whole per-photo work (decode, both thumbnails, hashes,
  colours, sharpness, encoding), without S3 and PostgreSQL;
- on a machine with CuPy and a CUDA GPU: pipeline_gpu_photos_per_s (batched: decode on CPU
  threads, kernels on the device) and gpu_vs_cpu_pipeline; otherwise a SKIPPED line says why.

Run: `make bench-processor` or `.venv/bin/python bench/processor_bench.py --photos 4 --rounds 2`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from photostore.processor.arrays import gpu_available, to_device
from photostore.processor.decode import decode_photo
from photostore.processor.pipeline import (
    ThumbnailSpec,
    assemble,
    decode_size,
    process_image,
    render_thumbnail,
    run_kernels,
)

SAMPLES = ("astronaut", "coffee", "chelsea", "rocket")
SIZE = (4000, 3000)
GRID = ThumbnailSpec("grid", "webp", 250)
SPECS = [GRID, ThumbnailSpec("preview", "jpg", 1440)]


def result(name: str, value: float, unit: str) -> None:
    print(f"RESULT {name} {value:.3f} {unit}", flush=True)


def build_photos(directory: Path, count: int) -> list[Path]:
    paths: list[Path] = []
    for index in range(count):
        name = SAMPLES[index % len(SAMPLES)]
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        path = directory / f"{index:02d}-{name}.jpg"
        image.resize(SIZE, Image.Resampling.LANCZOS).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def rate(paths: list[Path], rounds: int, step: Callable[[Path], object]) -> float:
    """Photos per second of `step`, best of `rounds` passes over the files (after a warm-up)."""
    step(paths[0])
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for path in paths:
            step(path)
        best = min(best, time.perf_counter() - started)
    return len(paths) / best


def gpu_batch_rate(paths: list[Path], rounds: int) -> float:
    """The batched GPU path: all photos decoded on CPU threads, kernels on the device."""
    cupy = importlib.import_module("cupy")
    workers = ThreadPoolExecutor(os.cpu_count() or 4)

    def batch() -> None:
        decoded = list(
            workers.map(lambda p: decode_photo(p.read_bytes(), decode_size(SPECS)), paths)
        )
        outputs = [run_kernels(to_device(cupy, d.pixels), SPECS) for d in decoded]
        list(
            workers.map(
                lambda pair: assemble(pair[0], pair[1], SPECS), zip(decoded, outputs, strict=True)
            )
        )

    batch()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        batch()
        best = min(best, time.perf_counter() - started)
    return len(paths) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4, help="12 MP JPEGs to build")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes (best is kept)")
    args = parser.parse_args()

    import pyvips

    pyvips.cache_set_max(0)
    with tempfile.TemporaryDirectory(prefix="processor-bench-") as tmp:
        paths = build_photos(Path(tmp), args.photos)
        print(f"# {len(paths)} photos, {SIZE[0]}x{SIZE[1]} JPEG q90, {os.cpu_count()} CPUs")

        ours = rate(paths, args.rounds, lambda p: render_thumbnail(p.read_bytes(), GRID, np))
        vips = rate(
            paths,
            args.rounds,
            lambda p: pyvips.Image.thumbnail(str(p), GRID.long_edge).webpsave_buffer(
                Q=GRID.quality
            ),
        )
        result("thumbnail_cpu_photos_per_s", ours, "photos/s")
        result("thumbnail_pyvips_photos_per_s", vips, "photos/s")
        result("thumbnail_cpu_vs_pyvips", ours / vips, "ratio")

        pipeline = rate(paths, args.rounds, lambda p: process_image(p.read_bytes(), SPECS, np))
        result("pipeline_cpu_photos_per_s", pipeline, "photos/s")

        if gpu_available():
            gpu = gpu_batch_rate(paths, args.rounds)
            result("pipeline_gpu_photos_per_s", gpu, "photos/s")
            result("gpu_vs_cpu_pipeline", gpu / pipeline, "ratio")
        else:
            try:
                importlib.import_module("cupy")
                reason = "CuPy is installed but no CUDA device is usable"
            except ImportError:
                reason = "CuPy is not installed (optional 'gpu' extra) and no GPU is present"
            print(f"SKIPPED pipeline_gpu_photos_per_s: {reason}", flush=True)


if __name__ == "__main__":
    main()
