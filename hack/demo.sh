#!/usr/bin/env bash
# `make demo` (the environment is up: make env ran first): apply one PhotoStorage on the real
# node and show photos flowing through it (hack/demo/demo.py). `make down` undoes it.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/env/status.sh
# The pods run this checkout's code: the image's package layer follows the sources (cached
# by their hash, imported into the node's containerd only when it changed).
hack/env/node/build-image.sh >/dev/null
exec .venv/bin/python hack/demo/demo.py "$@"
