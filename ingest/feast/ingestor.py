"""The Feast ingestor: a feature repository's registry, read through Feast's own ``FeatureStore`` API.

One pass lists the project's entities, data sources, feature views (batch, stream, on demand)
and feature services. A registry is small (hundreds of objects), so every pass maps all of it;
objects whose fingerprint is unchanged are not written again, and objects that left the
registry become tombstones.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ingest.base import IngestReport, Ingestor
from ingest.feast.config import FeastConfig
from ingest.feast.mapping import SYSTEM, FeastMapper
from memory.entities import Checkpoint, NodeUpsert, Record, SourceState, Tombstone
from memory.errors import NotFound, SourceUnavailable

if importlib.util.find_spec("feast") is None:  # listed as unavailable, with this reason
    raise ImportError("the feast package is not installed (pip install 'experiment-memory[feast]')")

CONFIG_FILE = "feature_store.yaml"


class FeastIngestor(Ingestor):
    system = SYSTEM
    config_class = FeastConfig

    def __init__(self, config: FeastConfig, report: IngestReport) -> None:
        super().__init__(config, report)
        self.config: FeastConfig = config
        self.repo_path = Path(config.repo_path).expanduser().resolve()
        self._store: Any = None
        self._registry_label: str | None = None

    @property
    def source_key(self) -> str:
        return f"feast:{self.repo_path}"

    def check(self) -> None:
        """The repository, its configuration and (for a file registry) the registry file must exist."""
        if not self.repo_path.is_dir():
            raise NotFound(f"no such folder: {self.config.repo_path}", hint="give the folder that holds feature_store.yaml")
        if not (self.repo_path / CONFIG_FILE).is_file():
            raise NotFound(
                f"{self.repo_path} is not a Feast repository: it has no {CONFIG_FILE}",
                hint="give the folder created by `feast init` (the one holding feature_store.yaml)",
            )
        config = self._repo_config()
        registry = config.registry
        registry_type = getattr(registry, "registry_type", "file")
        path = str(getattr(registry, "path", "") or "")
        if registry_type == "file" and "://" not in path:
            registry_file = Path(path) if Path(path).is_absolute() else self.repo_path / path
            if not registry_file.is_file():
                raise NotFound(
                    f"the Feast registry {registry_file} does not exist",
                    hint=f"run `feast apply` in {self.repo_path} to create it from the feature definitions",
                )
            self._registry_label = str(registry_file)
        else:
            self._registry_label = f"{registry_type}:{path}"

    def _repo_config(self) -> Any:
        from feast.repo_config import load_repo_config

        try:
            with _quiet():
                return load_repo_config(self.repo_path, self.repo_path / CONFIG_FILE)
        except Exception as exc:  # pydantic / YAML errors name the bad field
            raise SourceUnavailable(f"cannot read {self.repo_path / CONFIG_FILE}: {exc}") from None

    @property
    def store(self) -> Any:
        if self._store is None:
            from feast import FeatureStore

            try:
                with _quiet():
                    self._store = FeatureStore(repo_path=str(self.repo_path))
            except Exception as exc:
                raise SourceUnavailable(f"Feast could not open the repository {self.repo_path}: {exc}") from None
        return self._store

    # -- records
    def records(self, state: SourceState) -> Iterator[Record]:
        now = datetime.now(timezone.utc)
        if self._registry_label is None:
            self.check()
        store = self.store
        try:
            with _quiet():
                project = store.project
                entities = sorted(store.list_entities(), key=lambda o: o.name)
                sources = sorted(store.list_data_sources(), key=lambda o: o.name)
                views = sorted(store.list_all_feature_views(), key=lambda o: o.name)
                services = sorted(store.list_feature_services(), key=lambda o: o.name)
                description = next((p.description for p in store.list_projects() if p.name == project), None)
        except Exception as exc:
            raise SourceUnavailable(f"Feast could not read the registry of {self.repo_path}: {exc}") from None
        mapper = FeastMapper(project, self.repo_path, self._registry_label or "")

        batches: list[tuple[str, list[Any]]] = [("project", mapper.project_records(description))]
        seen_sources: set[str] = set()
        view_sources = [s for v in views for s in (getattr(v, "batch_source", None), getattr(v, "stream_source", None)) if s is not None]
        for data_source in [*sources, *view_sources]:
            urn = mapper.data_source_urn(data_source)
            if urn not in seen_sources:
                seen_sources.add(urn)
                batches.append(("data source", mapper.data_source_records(data_source)))
        for entity in entities:
            batches.append(("entity", mapper.entity_records(entity)))
        entity_keys = {e.name: e.join_key for e in entities}
        for view in views:
            batches.append(("feature view", mapper.feature_view_records(view, entity_keys)))
        for service in services:
            batches.append(("feature service", mapper.feature_service_records(service)))

        owned: set[str] = set()
        for what, records in batches:
            self.report.read += 1
            fingerprinted = {r.urn: r.fingerprint for r in records if isinstance(r, NodeUpsert) and r.fingerprint}
            owned.update(fingerprinted)
            if fingerprinted and all(state.fingerprints.get(u) == fp for u, fp in fingerprinted.items()):
                self.report.skipped_unchanged += 1
                continue
            yield from records
        for urn in sorted(set(state.fingerprints) - owned):
            yield Tombstone(urn=urn, at=now, reason="no longer in the Feast registry")
        yield Checkpoint(cursor={"project": project, "objects": len(batches)})


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Feast prints notices and warnings while it loads; the CLI shows its own report instead."""
    logger = logging.getLogger("feast")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
