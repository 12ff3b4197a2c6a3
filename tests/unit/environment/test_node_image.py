"""The image built without Docker for the real node (hack/env/node) matches the Dockerfile."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
NODE_DIR = REPO / "hack" / "env" / "node"


def _load_archive_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("oci_archive", NODE_DIR / "oci_archive.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def final_stage(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the last stage, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        instructions.append((word.upper(), rest.strip()))
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def build_args(dockerfile: str) -> dict[str, str]:
    """The default of every `ARG NAME=default`, for the build the Dockerfile makes by itself."""
    found = re.findall(r"^ARG\s+(\w+)=(\S+)\s*$", dockerfile, flags=re.MULTILINE)
    return dict(found)


def dockerfile_image(dockerfile: str) -> dict[str, Any]:
    """What the Dockerfile's final image says, in image.json's terms."""
    args = build_args(dockerfile)

    def expand(text: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), text)

    stage = [(word, expand(rest)) for word, rest in final_stage(dockerfile)]
    image: dict[str, Any] = {"env": {}, "packages": set(), "exposed_ports": []}
    for word, rest in stage:
        if word == "FROM":
            image["from"] = rest
        elif word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                image["env"][key] = value
        elif word == "USER":
            image["user"] = rest
        elif word == "ENTRYPOINT":
            image["entrypoint"] = json.loads(rest)
        elif word == "CMD":
            image["cmd"] = json.loads(rest)
        elif word == "EXPOSE":
            image["exposed_ports"] += rest.split()
        elif word == "RUN":
            for cmd in re.split(r"&&|;", rest):
                args = shlex.split(cmd)
                if args[:2] == ["apt-get", "install"]:
                    image["packages"] |= {a for a in args[2:] if not a.startswith("-")}
                if args[:1] == ["useradd"]:
                    image["user_name"] = args[-1]
                    image["uid"] = args[args.index("--uid") + 1]
    return image


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return json.loads((NODE_DIR / "image.json").read_text())


@pytest.fixture(scope="module")
def docker() -> dict[str, Any]:
    return dockerfile_image((REPO / "Dockerfile").read_text())


def test_user_matches_the_dockerfile(built: dict[str, Any], docker: dict[str, Any]) -> None:
    assert built["user"] == docker["user"] == docker["uid"]
    assert built["user_name"] == docker["user_name"]


def test_env_matches_the_dockerfile(built: dict[str, Any], docker: dict[str, Any]) -> None:
    assert set(built["env"]) == set(docker["env"])
    for key, value in docker["env"].items():
        if key == "PATH":
            # `PATH=/opt/venv/bin:$PATH` extends the base image's PATH.
            prefix = value.removesuffix("$PATH")
            assert built["env"]["PATH"].startswith(prefix)
            assert built["env"]["PATH"].endswith("/usr/bin:/sbin:/bin")
        else:
            assert built["env"][key] == value, key


def test_entrypoint_cmd_and_ports_match_the_dockerfile(
    built: dict[str, Any], docker: dict[str, Any]
) -> None:
    assert built["entrypoint"] == docker["entrypoint"]
    assert built["cmd"] == docker["cmd"]
    assert built["exposed_ports"] == docker["exposed_ports"]


def test_system_packages_and_python_match_the_dockerfile(
    built: dict[str, Any], docker: dict[str, Any]
) -> None:
    assert docker["packages"] <= set(built["packages"])
    python = re.match(r"python:(\d+\.\d+)", docker["from"])
    assert python is not None
    assert f"python{python.group(1)}" in built["packages"]


def test_dockerfile_parser_sees_packages_and_continuations() -> None:
    parsed = dockerfile_image(
        "ARG V=7\nFROM a AS build\nRUN apt-get install -y gcc\nFROM python:3.11-slim\nARG V\n"
        "RUN apt-get update \\\n && apt-get install -y --no-install-recommends libvips42 "
        '"client-${V}"\n'
        "ENV A=1 B=two C=/x/${V}\nUSER 10001\n"
    )
    assert parsed["packages"] == {"libvips42", "client-7"}
    assert parsed["env"] == {"A": "1", "B": "two", "C": "/x/7"}
    assert parsed["user"] == "10001"


def test_archive_config_carries_image_json(built: dict[str, Any], tmp_path: Path) -> None:
    oci = _load_archive_module()
    layer = tmp_path / "layer.tar"
    payload = tmp_path / "hello"
    payload.write_text("hi\n")
    with tarfile.open(layer, "w") as tar:
        tar.add(payload, arcname="hello")
    out = tmp_path / "image.tar"
    oci.write_archive(built, [layer], out)
    with tarfile.open(out) as tar:
        extracted = tar.extractfile("manifest.json")
        assert extracted is not None
        (manifest,) = json.load(extracted)
        config_file = tar.extractfile(manifest["Config"])
        assert config_file is not None
        config = json.load(config_file)
        assert manifest["RepoTags"] == [f"{built['repository']}:{built['tag']}"]
        assert len(manifest["Layers"]) == 1
        assert tar.getmember(manifest["Layers"][0]).size == layer.stat().st_size
    assert config["config"]["User"] == "10001"
    assert "PYTHONSAFEPATH=1" in config["config"]["Env"]
    assert config["config"]["Entrypoint"] == ["python", "-m", "photostore"]
    assert config["rootfs"]["diff_ids"] == [f"sha256:{oci.sha256_file(layer)}"]
