"""Keyed pseudonyms for user ids: a dbt-duckdb plugin that keeps the key inside the process.

The key is read when dbt-duckdb opens its connection, from ``TASK_WATTS_PSEUDONYM_KEY`` or
from the file named by ``TASK_WATTS_PSEUDONYM_KEY_FILE``, and two SQL functions are
registered on that connection:

* ``task_watts_pseudonym(varchar) -> varchar``: hex HMAC-SHA-256 of the UTF-8 value under
  the key (NULL stays NULL), vectorised over Arrow batches;
* ``task_watts_pseudonym_key_id() -> varchar``: which key made the pseudonyms - the first
  16 hex digits of HMAC(key, "task-watts-key-id"), or ``public-demo-key``.

Neither the key nor anything derived from it but the key id ever reaches SQL text, so it is
absent from the compiled SQL, the manifest, run results and logs. With no key set the
functions use a public demo key; the ``hash_user_id`` macros refuse to build anything but the
generated sample under it unless ``TASK_WATTS_ALLOW_PUBLIC_KEY=1`` (docs/operations.md).

profiles.yml loads it with ``plugins: [{module: python_helpers.ops.pseudonym_plugin}]``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from dbt.adapters.duckdb.plugins import BasePlugin

KEY_ENV: Final = "TASK_WATTS_PSEUDONYM_KEY"
KEY_FILE_ENV: Final = "TASK_WATTS_PSEUDONYM_KEY_FILE"
#: The key of the generated sample and of explicit throwaway experiments: public on purpose.
PUBLIC_DEMO_KEY: Final = b"task-watts public demo key: never use it for real telemetry"
PUBLIC_KEY_ID: Final = "public-demo-key"
#: A shorter key is a password, not a key: HMAC's strength is the key's entropy.
MIN_KEY_BYTES: Final = 16
PSEUDONYM_FUNCTION: Final = "task_watts_pseudonym"
KEY_ID_FUNCTION: Final = "task_watts_pseudonym_key_id"
#: Distinct ids remembered between batches: bounds memory, and a 10M-row build of a few
#: hundred thousand users then hashes each user about once.
CACHE_LIMIT: Final = 1_000_000


class PseudonymKeyError(ValueError):
    """The key settings are unusable; the message names the variable, never the key."""


@dataclass(frozen=True)
class PseudonymKey:
    """The secret and its public identifier."""

    secret: bytes
    key_id: str

    @property
    def is_public(self) -> bool:
        return self.key_id == PUBLIC_KEY_ID


def key_id_of(secret: bytes) -> str:
    """A stable public name for a key: rows made under it can be told apart after rotation."""
    return hmac.new(secret, b"task-watts-key-id", hashlib.sha256).hexdigest()[:16]


def load_key(environ: dict[str, str] | None = None) -> PseudonymKey:
    """The key from the environment or its file; the public demo key when neither is set."""
    env = os.environ if environ is None else environ
    inline, file_name = env.get(KEY_ENV, ""), env.get(KEY_FILE_ENV, "")
    if inline and file_name:
        raise PseudonymKeyError(f"set only one of {KEY_ENV} and {KEY_FILE_ENV}, not both")
    if file_name:
        try:
            # A trailing newline from `echo` or an editor is not part of the key.
            secret = Path(file_name).read_bytes().rstrip(b"\r\n")
        except OSError as error:
            raise PseudonymKeyError(
                f"{KEY_FILE_ENV} names a file that cannot be read ({error.strerror})"
            ) from None
        source = KEY_FILE_ENV
    elif inline:
        secret, source = inline.encode("utf-8"), KEY_ENV
    else:
        return PseudonymKey(PUBLIC_DEMO_KEY, PUBLIC_KEY_ID)
    if len(secret) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"the key in {source} is shorter than {MIN_KEY_BYTES} bytes; generate one with "
            "python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return PseudonymKey(secret, key_id_of(secret))


class Pseudonymiser:
    """HMAC-SHA-256 of user ids, computed once per distinct id (ids repeat across events)."""

    def __init__(self, key: PseudonymKey) -> None:
        self._secret = key.secret
        self._cache: dict[str, str] = {}

    def one(self, value: str) -> str:
        digest = self._cache.get(value)
        if digest is None:
            digest = hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[value] = digest
        return digest

    def arrow(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The DuckDB Arrow UDF: hash each distinct value of the batch, then spread back."""
        distinct = pc.unique(values)
        digests = pa.array(
            [None if v is None else self.one(v) for v in distinct.to_pylist()], pa.string()
        )
        result = pc.take(digests, pc.index_in(values, value_set=distinct))
        return result.combine_chunks() if isinstance(result, pa.ChunkedArray) else result


def register(conn: duckdb.DuckDBPyConnection, key: PseudonymKey) -> None:
    """Register the pseudonym and key-id functions on ``conn`` (its cursors see them too)."""
    varchar = duckdb.sqltype("VARCHAR")
    conn.create_function(
        PSEUDONYM_FUNCTION, Pseudonymiser(key).arrow, [varchar], varchar, type="arrow"
    )
    key_id = key.key_id
    conn.create_function(KEY_ID_FUNCTION, lambda: key_id, [], varchar)


class Plugin(BasePlugin):
    """dbt-duckdb plugin: the key is read when the connection opens, never from SQL."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # Read once per process: an unusable key setting fails before any model runs.
        self._key = load_key()

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register(conn, self._key)
