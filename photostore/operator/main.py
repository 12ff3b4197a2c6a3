"""`python -m photostore operator [kopf run options]`: kopf run -m photostore.operator.

Watches all namespaces unless a namespace is given, and serves kopf's liveness probe.
"""

from __future__ import annotations

from photostore.operator.settings import OperatorSettings

SCOPE_FLAGS = ("-n", "--namespace", "-A", "--all-namespaces")


def kopf_args(argv: list[str]) -> list[str]:
    args = ["run", "-m", "photostore.operator"]
    if not any(a.split("=", 1)[0] in SCOPE_FLAGS for a in argv):
        args.append("--all-namespaces")
    liveness = OperatorSettings().liveness
    if liveness and not any(a.startswith("--liveness") for a in argv):
        args += ["--liveness", liveness]
    return args + argv


def main(argv: list[str]) -> None:
    from kopf.cli import main as kopf_main  # kopf loads only when the operator runs

    kopf_main(args=kopf_args(argv), prog_name="photostore operator")
