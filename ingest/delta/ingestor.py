"""The Delta Lake ingestor: a table's transaction log, version by version (``xmem ingest delta``)."""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ingest.base import IngestReport, Ingestor
from ingest.delta.config import DeltaConfig
from ingest.delta.mapping import SYSTEM, schema_fields, table_location, table_records, version_records
from memory.entities import Checkpoint, Record, SourceState
from memory.errors import NotFound, SourceUnavailable

try:
    from deltalake import DeltaTable
except ImportError as exc:  # pragma: no cover - reported by `xmem sources`
    raise ImportError("the Delta Lake ingestor needs the 'deltalake' package: pip install 'experiment-memory[delta]'") from exc


class DeltaIngestor(Ingestor):
    system = SYSTEM
    config_class = DeltaConfig

    def __init__(self, config: DeltaConfig, report: IngestReport) -> None:
        super().__init__(config, report)
        self.config: DeltaConfig = config
        self.location = table_location(config.table_uri)
        self._table: DeltaTable | None = None

    @property
    def source_key(self) -> str:
        return f"delta:{self.location}"

    def check(self) -> None:
        uri = self.config.table_uri
        try:
            is_table = DeltaTable.is_deltatable(uri, storage_options=self.config.storage_options or None)
        except Exception as exc:  # object-store errors come as several exception types
            raise SourceUnavailable(f"cannot read {uri}: {exc}", hint="check the path and --storage-option credentials") from None
        if not is_table:
            raise NotFound(
                f"{uri} is not a Delta table (no _delta_log/ with a commit in it)",
                hint="give the table's root folder, the one that contains _delta_log/",
            )
        self._table = DeltaTable(uri, storage_options=self.config.storage_options or None)

    def total_hint(self) -> int | None:
        return self._table.version() + 1 if self._table is not None else None

    def records(self, state: SourceState) -> Iterator[Record]:
        table = self._table or DeltaTable(self.config.table_uri, storage_options=self.config.storage_options or None)
        latest = table.version()
        commits = {c["version"]: c for c in table.history() if "version" in c}
        start = int(state.cursor.get("version", -1)) + 1
        if start > latest:
            return
        instance = self.config.table_uri
        yield from table_records(self.location, instance, table.metadata(), self.config.project)
        previous = self._fields_at(table, start - 1) if start > 0 else None
        since_checkpoint = 0
        for version in range(start, latest + 1):
            self.report.read += 1
            try:
                table.load_as_version(version)
            except Exception as exc:  # a version whose log entry was cleaned up (log retention)
                self.report.warn(
                    "version no longer in the log",
                    "its commit file was removed by log retention; it is skipped",
                    f"{self.config.table_uri} v{version}: {exc}",
                )
                previous = None
                continue
            fields = schema_fields(table.schema().to_json())
            commit = commits.get(version) or {}
            if not commit:
                self.report.warn("no commit info", "the log has no commitInfo for this version", f"v{version}")
            yield from version_records(
                self.location, instance, version, commit, fields, previous, _snapshot(table), self.config.project
            )
            previous = fields
            since_checkpoint += 1
            if since_checkpoint >= self.config.checkpoint_every:
                since_checkpoint = 0
                yield Checkpoint(cursor={"version": version})
        yield Checkpoint(cursor={"version": latest})

    def _fields_at(self, table: DeltaTable, version: int) -> list[dict[str, Any]] | None:
        try:
            table.load_as_version(version)
        except Exception:
            return None
        return schema_fields(table.schema().to_json())


def _snapshot(table: DeltaTable) -> dict[str, int]:
    """Rows, files and bytes of the loaded version, from the add actions' statistics."""
    adds = pa.table(table.get_add_actions(flatten=True))
    snapshot = {"num_files": adds.num_rows, "size_bytes": int(pc.sum(adds["size_bytes"]).as_py() or 0)}
    if "num_records" in adds.column_names and adds.num_rows and adds["num_records"].null_count == 0:
        snapshot["num_rows"] = int(pc.sum(adds["num_records"]).as_py() or 0)
    elif not adds.num_rows:
        snapshot["num_rows"] = 0
    return snapshot
