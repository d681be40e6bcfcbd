"""Hold an exclusive write lock on the SQLite file DB until stdin closes.

Usage: fault_lock_database.py DB. Prints "LOCKED" once BEGIN EXCLUSIVE has
succeeded; rolls back and exits when its standard input reaches end of file.
"""

from __future__ import annotations

import sqlite3
import sys


def main() -> int:
    """Lock the database, announce it, and wait for the parent to let go."""
    connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
    connection.execute("BEGIN EXCLUSIVE")
    print("LOCKED", flush=True)
    sys.stdin.read()
    connection.execute("ROLLBACK")
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
