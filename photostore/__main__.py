"""Command line entry point: `python -m photostore <command>`.

A command is a module's `main(argv)`, or `module:function`. Each command imports only what
it runs, so the API image never loads kopf and the operator never loads the image kernels.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "api": ("photostore.api.app", "serve the photo HTTP API"),
    "processor": ("photostore.processor.service", "consume photoUpload events and process photos"),
    "migrate": ("photostore.db.migrate", "apply the SQL migrations (safe to run concurrently)"),
    "operator": ("photostore.operator.main", "run the PhotoStorage operator"),
    "user": ("photostore.api.user_cli", "disable or enable an account (ends its credentials)"),
    "crd": ("photostore.operator.crd", "print the PhotoStorage CustomResourceDefinition"),
    "rbac": ("photostore.operator.rbac", "print the operator's ClusterRole"),
    "import": ("photostore.importer.cli", "upload a folder of photos, skipping those stored"),
    "backup": (
        "photostore.backup.cli:backup_main",
        "dump the database to S3; `backup list`, `backup verify`",
    ),
    "restore": ("photostore.backup.cli:restore_main", "restore a backup and check its row counts"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="photostore")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    args, rest = parser.parse_known_args(argv)
    module_name, _, function = COMMANDS[args.command][0].partition(":")
    module = importlib.import_module(module_name)
    getattr(module, function or "main")(rest)


if __name__ == "__main__":
    main(sys.argv[1:])
