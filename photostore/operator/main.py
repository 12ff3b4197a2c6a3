"""`python -m photostore operator [kopf run options]`: kopf run -m photostore.operator.

Watches all namespaces unless a namespace is given, and serves kopf's liveness probe.
"""

from __future__ import annotations

import os

LIVENESS_ENV = "PHOTOSTORE_OPERATOR_LIVENESS"
DEFAULT_LIVENESS = "http://0.0.0.0:8081/healthz"
SCOPE_FLAGS = ("-n", "--namespace", "-A", "--all-namespaces")


def kopf_args(argv: list[str]) -> list[str]:
    args = ["run", "-m", "photostore.operator"]
    if not any(a.split("=", 1)[0] in SCOPE_FLAGS for a in argv):
        args.append("--all-namespaces")
    liveness = os.environ.get(LIVENESS_ENV, DEFAULT_LIVENESS)
    if liveness and not any(a.startswith("--liveness") for a in argv):
        args += ["--liveness", liveness]
    return args + argv


def main(argv: list[str]) -> None:
    from kopf.cli import main as kopf_main  # kopf loads only when the operator runs

    kopf_main(args=kopf_args(argv), prog_name="photostore operator")
