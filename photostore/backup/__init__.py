"""Database backups: pg_dump to S3 with a manifest written last, restore, verify, list.

A backup is `<prefix><id>.dump` (pg_dump custom format) plus `<prefix><id>.manifest.json`,
written only after the dump was stored whole; a dump without a manifest is not a backup.
`<prefix><id>.verification.json` records the last restore check of a backup.
"""
