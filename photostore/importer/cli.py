"""`photostore import DIR`: the command line of the importer."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx
from pydantic import SecretStr, ValidationError
from rich.console import Console

from photostore.importer.api_client import (
    LOOKUP_PATH,
    ApiRefusedError,
    ApiUnavailableError,
    PhotoApi,
)
from photostore.importer.folder_import import ImportOptions, import_folder
from photostore.importer.reporting import JsonLinesReporter, ProgressBarReporter
from photostore.importer.settings import ImportSettings
from photostore.importer.summary import EXIT_API_REFUSED, Summary
from photostore.importer.walker import IMAGE_SUFFIXES

DESCRIPTION = f"""\
Upload every image under DIR (recursively; extensions {", ".join(sorted(IMAGE_SUFFIXES))}, in
any case) to a running photo API. Each file is hashed (SHA-256) first and the API is asked
which of those bytes it already stores ({LOOKUP_PATH}); those are skipped without sending
them, so a second run over the same folder sends nothing and an interrupted run resumes where
it stopped. The rest are uploaded, at most --concurrency at a time. Files with the same bytes
are sent once.
"""

EPILOG = """\
output: on a terminal, progress bars and then a summary (uploaded, already stored, rejected
  and failed, with the API's reason for each file not stored). When stdout is not a
  terminal, one JSON object per line instead: {"event": "found", "files": N}, then per file
  {"event": "uploaded"|"already_stored"|"would_upload"|"rejected"|"failed", "path",
  "sha256", "photo_id", "reason"}, then {"event": "summary", ...}.

retries: 429 (rate limited) waits for Retry-After and tries again; 503 and dropped
  connections are retried --retries times with backoff.

exit status: 0 every file is stored (or, with --dry-run, would be uploaded); 1 some file was
  rejected by the API (not an image, too large, ...) or failed; 2 bad usage; 3 the API
  refused the run (bad API key, wrong URL) or could not be reached.

environment: PHOTOSTORE_API_URL, PHOTOSTORE_API_KEY (preferred to --api-key, which other
  users can see in the process list), PHOTOSTORE_IMPORT_CONCURRENCY, PHOTOSTORE_IMPORT_RETRIES,
  PHOTOSTORE_IMPORT_TIMEOUT_SECONDS.
"""


def build_parser(settings: ImportSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photostore import",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the folder to import")
    parser.add_argument(
        "--api", default=settings.api_url, metavar="URL",
        help=f"base URL of the photo API (PHOTOSTORE_API_URL; default {settings.api_url})",
    )  # fmt: skip
    parser.add_argument(
        "--api-key", "--token", dest="api_key", metavar="KEY",
        help="an API key (psk_...) or a login token (pss_...); default PHOTOSTORE_API_KEY",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=int, default=settings.import_concurrency, metavar="N",
        help=f"uploads (and files hashed) at a time, 1-64 (default {settings.import_concurrency})",
    )  # fmt: skip
    parser.add_argument(
        "--retries", type=int, default=settings.import_retries, metavar="N",
        help=f"tries after a 503 or a dropped connection (default {settings.import_retries})",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true",
        help="hash and ask the API, report what would be uploaded, upload nothing",
    )  # fmt: skip
    return parser


async def _run(
    settings: ImportSettings, options: ImportOptions, api_key: SecretStr, retries: int
) -> Summary:
    headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"}
    timeout = httpx.Timeout(settings.import_timeout_seconds, connect=10.0)
    limits = httpx.Limits(max_connections=options.concurrency + 1)
    async with httpx.AsyncClient(
        base_url=settings.api_url, headers=headers, timeout=timeout, limits=limits
    ) as client:
        api = PhotoApi(client, retries=retries)
        if sys.stdout.isatty():
            with ProgressBarReporter(Console()) as bar:
                summary = await import_folder(api, options, bar)
                bar.summary(summary)
        else:
            with JsonLinesReporter(sys.stdout) as lines:
                summary = await import_folder(api, options, lines)
                lines.summary(summary)
    return summary


def main(argv: list[str]) -> None:
    try:
        settings = ImportSettings()
    except ValidationError as exc:
        names = ", ".join(
            f"PHOTOSTORE_{str(e['loc'][0]).upper()}" for e in exc.errors() if e["loc"]
        )
        sys.exit(f"photostore import: bad setting {names}")
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    api_key = SecretStr(args.api_key) if args.api_key else settings.api_key
    if api_key is None or not api_key.get_secret_value():
        parser.error("no API key: set PHOTOSTORE_API_KEY or pass --api-key")
    if not args.dir.is_dir():
        parser.error(f"{args.dir} is not a folder")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    if args.retries < 0:
        parser.error("--retries must be 0 or more")
    settings = settings.model_copy(update={"api_url": args.api})
    options = ImportOptions(root=args.dir, concurrency=args.concurrency, dry_run=args.dry_run)
    try:
        summary = asyncio.run(_run(settings, options, api_key, args.retries))
    except (ApiRefusedError, ApiUnavailableError) as exc:
        print(f"photostore import: {exc}", file=sys.stderr)
        sys.exit(EXIT_API_REFUSED)
    except KeyboardInterrupt:
        print("photostore import: interrupted; run it again to resume", file=sys.stderr)
        sys.exit(130)
    sys.exit(summary.exit_code)
