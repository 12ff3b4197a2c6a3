"""The one error the backup commands raise for a condition an operator must act on."""

from __future__ import annotations


class BackupError(RuntimeError):
    """A backup, restore or verification that did not succeed; the message says why."""
