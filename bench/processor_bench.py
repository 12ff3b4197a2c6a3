"""Processor benchmark: thumbnails and the per-photo pipeline against pyvips, on 12 MP JPEGs.

The photos are real ones that scikit-image ships (astronaut, coffee, chelsea, rocket),
upscaled to 4000x3000 and saved as JPEG quality 90, the size of a phone camera's output.

Prints `RESULT name value unit` lines:
- thumbnail_cpu_photos_per_s: our 250 px WebP grid thumbnail (read file, draft-decode, Lanczos
  resize on the CPU device, encode), one photo at a time;
- thumbnail_pyvips_photos_per_s: pyvips `Image.thumbnail` + WebP encode of the same files,
  libvips' operation cache off so every call decodes;
- thumbnail_cpu_vs_pyvips: the ratio of the two (goal >= 0.5);
- pipeline_cpu_photos_per_s: the whole per-photo work (decode, both thumbnails, hashes,
  colours, sharpness, encoding), without S3 and PostgreSQL, one photo at a time;
- vips_two_thumbnails_photos_per_s and pipeline_vs_vips_two_thumbnails: against the thumbnail
  work Immich does with libvips: `thumbnail` to a 1440 px JPEG preview, then the 250 px WebP
  from that preview's bytes. Single-threaded on both sides: one photo at a time, libvips'
  concurrency 1 and its operation cache off; the ratio is the median of the rounds' ratios,
  each round timing both sides back to back;
- the same with `_all_cores`: as many photos at once as the CPUs this process may use, each
  on its own thread (as the processor's workers do), on both sides. libvips is timed twice,
  with one thread per photo and with its default concurrency (one thread per CPU per photo);
  the faster is the baseline.
- on a machine with CuPy and a CUDA GPU: pipeline_gpu_photos_per_s (batched: decode on CPU
  threads, kernels on the device) and gpu_vs_cpu_pipeline; otherwise a SKIPPED line says why.

Every figure is the median of `--rounds` timed passes over the photos (after a warm-up), not
the best: the machine is shared.

Run: `make bench-processor` or `.venv/bin/python bench/processor_bench.py --photos 4 --rounds 5`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image
from skimage import data

from photostore.processor.arrays import gpu_available, to_device
from photostore.processor.cpus import available_cpus
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
PREVIEW = ThumbnailSpec("preview", "jpg", 1440)
SPECS = [GRID, PREVIEW]


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
    """Photos per second of `step`, median of `rounds` passes over the files (after a warm-up)."""
    step(paths[0])
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for path in paths:
            step(path)
        rates.append(len(paths) / (time.perf_counter() - started))
    return statistics.median(rates)


def pass_rate(paths: list[Path], step: Callable[[Path], object], threads: int) -> float:
    """Photos per second of one pass over the files, `threads` photos at a time."""
    started = time.perf_counter()
    if threads == 1:
        for path in paths:
            step(path)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(step, paths))
    return len(paths) / (time.perf_counter() - started)


def vips_two_thumbnails(pyvips: ModuleType, concurrency: int) -> Callable[[Path], object]:
    """Immich's thumbnail work: a 1440 px JPEG preview, then the 250 px WebP from its bytes."""

    def step(path: Path) -> object:
        pyvips.concurrency_set(concurrency)
        preview = pyvips.Image.thumbnail(str(path), PREVIEW.long_edge).jpegsave_buffer(
            Q=PREVIEW.quality
        )
        return pyvips.Image.thumbnail_buffer(preview, GRID.long_edge).webpsave_buffer(
            Q=GRID.quality
        )

    return step


def ours_whole_pipeline(path: Path) -> object:
    return process_image(path.read_bytes(), SPECS, np)


def compare_with_vips(
    paths: list[Path], rounds: int, pyvips: ModuleType, threads: int, suffix: str
) -> None:
    """Our pipeline against libvips' two thumbnails, `threads` photos at a time, interleaved."""
    layouts = {"one_thread_per_photo": 1}
    if threads > 1:
        layouts["vips_threads_per_photo"] = threads
    ours_rates: list[float] = []
    vips_rates: dict[str, list[float]] = {name: [] for name in layouts}
    ratios: list[float] = []
    steps = {name: vips_two_thumbnails(pyvips, c) for name, c in layouts.items()}
    pass_rate(paths[:threads], ours_whole_pipeline, threads)
    for step in steps.values():
        pass_rate(paths[:threads], step, threads)
    for _ in range(rounds):
        ours_rates.append(pass_rate(paths, ours_whole_pipeline, threads))
        for name, step in steps.items():
            vips_rates[name].append(pass_rate(paths, step, threads))
        ratios.append(ours_rates[-1] / max(rates[-1] for rates in vips_rates.values()))
    medians = {name: statistics.median(rates) for name, rates in vips_rates.items()}
    if threads > 1:
        for name, value in medians.items():
            result(f"vips_two_thumbnails{suffix}_{name}_photos_per_s", value, "photos/s")
    result(f"pipeline{suffix}_photos_per_s", statistics.median(ours_rates), "photos/s")
    result(f"vips_two_thumbnails{suffix}_photos_per_s", max(medians.values()), "photos/s")
    result(f"pipeline_vs_vips_two_thumbnails{suffix}", statistics.median(ratios), "ratio")


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
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        batch()
        rates.append(len(paths) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4, help="12 MP JPEGs to build")
    parser.add_argument(
        "--rounds", type=int, default=5, help="timed passes (their median is reported)"
    )
    args = parser.parse_args()

    import pyvips

    pyvips.cache_set_max(0)
    with tempfile.TemporaryDirectory(prefix="processor-bench-") as tmp:
        paths = build_photos(Path(tmp), args.photos)
        cpus = available_cpus()
        print(
            f"# {len(paths)} photos, {SIZE[0]}x{SIZE[1]} JPEG q90, {os.cpu_count()} CPUs, "
            f"{cpus} available, median of {args.rounds} rounds"
        )
        pyvips.concurrency_set(1)

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

        pipeline = rate(paths, args.rounds, ours_whole_pipeline)
        result("pipeline_cpu_photos_per_s", pipeline, "photos/s")

        compare_with_vips(paths, args.rounds, pyvips, 1, "")
        compare_with_vips(paths, args.rounds, pyvips, cpus, "_all_cores")

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
