"""The SQL layer: plain, parameterised asyncpg SQL, one module per aggregate."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A query function accepts a bare connection (CLI, tests) or one borrowed from the pool.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy
