#!/usr/bin/env bash
# The operator's part of `make demo` (hack/demo.sh runs this when it is executable):
# install the CRD, run the operator, apply manifests/photostorage.yaml, wait for Ready, show it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m photostore.operator.demo "$@"
