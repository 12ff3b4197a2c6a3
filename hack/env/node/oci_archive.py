"""Writes a docker-archive image (what `docker save` writes) from layer tars and image.json.

`ctr images import` reads it. Standard library only: it runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def image_config(spec: dict[str, Any], diff_ids: list[str]) -> dict[str, Any]:
    """The image config: user, env, entrypoint and cmd as image.json (and the Dockerfile) say."""
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": spec["user"],
            "Env": [f"{k}={v}" for k, v in spec["env"].items()],
            "Entrypoint": spec["entrypoint"],
            "Cmd": spec["cmd"],
            "ExposedPorts": {f"{p}/tcp": {} for p in spec["exposed_ports"]},
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]},
        "history": [{"created_by": "hack/env/node/build-image.sh"} for _ in diff_ids],
    }


def write_archive(spec: dict[str, Any], layers: list[Path], out: Path) -> None:
    diff_ids = []
    for layer in layers:
        cached = layer.with_name(layer.name + ".sha256")
        if cached.exists() and cached.stat().st_mtime >= layer.stat().st_mtime:
            diff_ids.append(cached.read_text().strip())
        else:
            diff_ids.append(sha256_file(layer))
            cached.write_text(diff_ids[-1] + "\n")
    config = json.dumps(image_config(spec, diff_ids), sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = [
        {
            "Config": config_name,
            "RepoTags": [f"{spec['repository']}:{spec['tag']}"],
            "Layers": [f"{d}/layer.tar" for d in diff_ids],
        }
    ]
    with tarfile.open(out, "w") as tar:
        for diff_id, layer in zip(diff_ids, layers, strict=True):
            tar.add(layer, arcname=f"{diff_id}/layer.tar")
        for name, data in ((config_name, config), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, fileobj=io.BytesIO(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="image.json")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("layers", type=Path, nargs="+", help="layer tars, base first")
    args = parser.parse_args()
    write_archive(json.loads(args.config.read_text()), args.layers, args.out)


if __name__ == "__main__":
    main()
