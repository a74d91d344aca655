"""What a deleted secret leaves in the database files, and how certdesk removes it (point 9).

On SQLite every connection runs ``PRAGMA secure_delete=ON`` (config/settings.py, the
``init_command``): content SQLite frees (a row, an overwritten value, an overflow page) is
overwritten with zeros instead of being left in free space. In WAL mode the zeroed page goes to
the write-ahead log first, while the database file and older log frames still hold the old
page; :func:`erase_freed_pages` then checkpoints with ``TRUNCATE``: the log is copied into the
database file and cut to zero bytes. After that, neither ``db.sqlite3`` nor ``db.sqlite3-wal``
holds the destroyed key's encrypted bytes.

PostgreSQL keeps the old row version as a dead tuple until VACUUM reuses its space, and backups
keep whatever they copied: docs/operations.md says for how long and what to do.
"""

from __future__ import annotations

import logging

from django.db import connections

logger = logging.getLogger(__name__)


def erase_freed_pages(using: str = "default") -> bool:
    """After destroying a secret: on SQLite, fold the write-ahead log into the database file and
    truncate it; True when done. A no-op (False) on other databases.

    Call it after the destroying transaction committed (``transaction.on_commit``): a
    checkpoint cannot include changes not yet committed. A reader holding an old snapshot makes
    SQLite wait (the busy timeout) and then give up; that is logged, and the next checkpoint
    (SQLite runs one automatically every 1000 pages, or the next destruction) completes it.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
    busy = bool(row and row[0])
    if busy:
        logger.warning(
            "SQLite could not checkpoint its write-ahead log after a key was destroyed (a reader "
            "was busy); the destroyed key's encrypted bytes stay in db.sqlite3-wal until the "
            "next checkpoint."
        )
    return not busy
