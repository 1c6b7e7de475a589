"""The "why did this model fail?" verbs of the service: a model version's lineage as of a moment, and
its ranked diff against the previous good version (the analysis itself is :mod:`memory.why`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from memory.access import require, visible
from memory.entities import LOCAL_ADMIN, Node, Principal, Scope
from memory.errors import InvalidQuery, NotFound
from memory.why import Diff, Tenure, WhyReport, diff as lineage_diff, holder_at, previous_good, tenures


class WhyVerbs:
    """Mixed into :class:`memory.service.MemoryService` (uses its store, lineage and access checks)."""

    store: Any

    def _find_model(self, name: str, principal: Principal) -> Node:
        """The registered model named ``name`` (case-insensitive; the first by URN when two sources share it)."""
        found = self.store.list_nodes(kind="model", name=name, page_size=1).items
        if not found or not visible(principal, found[0]):
            raise NotFound(f"no registered model named {name!r}", hint="see `xmem search --kind model`")
        return found[0]

    def _model_versions(self, version: Node | str, principal: Principal) -> tuple[Node, dict[str, Node]]:
        """A registered model (a model name, or found from one of its versions) and its visible versions by URN."""
        if isinstance(version, str):
            model = self._find_model(version, principal)
        else:
            model_urn = next((e.dst for e in self.store.list_edges(version.urn)
                              if e.kind.value == "version_of" and e.src == version.urn), None)
            if model_urn is None:
                raise NotFound(f"{version.name} belongs to no registered model in the memory")
            model = self._visible_node(model_urn, principal)
        versions = {n.urn: n for e, n in self.store.neighbours(model.urn)
                    if e.kind.value == "version_of" and e.dst == model.urn and visible(principal, n)}
        return model, versions

    def _tenures(self, model: Node, versions: dict[str, Node], label: str) -> list[Tenure]:
        return tenures({urn: self.store.list_events(urn) for urn in versions}, label)

    def why(
        self,
        ref: str,
        *,
        at: datetime | None = None,
        against: str = "previous-good",
        depth: int = 6,
        principal: Principal = LOCAL_ADMIN,
    ) -> WhyReport:
        """The upstream lineage of the version ``ref`` names (as of ``at``) and its ranked diff against ``against``.

        ``ref``: ``name@stage``, ``name@alias``, ``name/vN`` or a URN. With ``at``, ``name@label`` is the version
        that held the label then (from the registry's stage/alias events). ``against``: ``previous-good`` (the
        last other version that held the same label before this one) or any model reference.
        """
        require(principal, Scope.read)
        notes: list[str] = []
        label, tenure, current = None, None, None
        history: list[Tenure] = []
        versions: dict[str, Node] = {}
        name = ref.rsplit("@", 1)[0] if "@" in ref and "://" not in ref else None
        if name is not None:
            label = ref.rsplit("@", 1)[1]
            model, versions = self._model_versions(name, principal)
            history = self._tenures(model, versions, label)
            moment = at or datetime.now(timezone.utc)
            tenure = holder_at(history, moment)
            if tenure is not None:
                current = versions[tenure.version_urn]
            elif at is not None:
                first = f"; it was first held on {history[0].start.isoformat(timespec='seconds')}" if history else ""
                raise NotFound(f"no version of {model.name} held {label!r} at {at.isoformat(timespec='seconds')}{first}",
                               hint="pick a later --at, or name a version: MODEL/vN")
        if current is None:
            current = self._visible_node(self.resolve_model_ref(ref, principal), principal)
            if label is None:
                label = self._label_of(current, at)
            if label is not None and tenure is None:
                model, versions = self._model_versions(current, principal)
                history = self._tenures(model, versions, label)
                tenure = next((t for t in reversed(history) if t.version_urn == current.urn
                               and (at is None or t.start <= at)), None)
        if current.kind.value != "model_version":
            raise InvalidQuery(f"{ref!r} is a {current.kind.value}, not a model version",
                               hint="name a model version: MODEL@production, MODEL/vN or its URN")
        graph = self.lineage(current.urn, depth=depth, as_of=at, principal=principal)
        baseline_how: str | None = None
        result: Diff | None = None
        if against == "previous-good":
            baseline = None
            if label is None:
                notes.append(f"{current.name} holds no stage or alias, so there is no previous-good version; "
                             "compare with --against MODEL/vN")
            elif tenure is None:
                notes.append(f"the memory has no record of {current.name} holding {label!r}; "
                             "compare with --against MODEL/vN")
            else:
                before = previous_good(history, tenure)  # ``history`` and ``versions`` were read with the tenure
                archived = _archived_predecessor(current, versions) if before is None and label == "production" else None
                if archived is not None:
                    baseline = archived
                    baseline_how = (f"previous-good (inferred): {archived.name} is the newest earlier version now Archived — "
                                    "MLflow archives the Production holder when the next one is promoted; the memory "
                                    "never saw its tenure (sync the registry after each promotion to record it)")
                elif before is None:
                    notes.append(f"no previous-good version: {current.name} is the first version the memory saw holding "
                                 f"{label!r} — compare with another version: --against MODEL/vN")
                else:
                    baseline = versions[before.version_urn]
                    baseline_how = (f"previous-good: {baseline.name} held {label!r} from "
                                    f"{before.start.isoformat(timespec='seconds')} until {current.name} took it")
        else:
            baseline = self._visible_node(self.resolve_model_ref(against, principal), principal)
            baseline_how = f"as asked: {baseline.name}"
        if baseline is not None:
            if baseline.urn == current.urn:
                notes.append(f"{current.name} is compared with itself: nothing differs")
            result = lineage_diff(self.lineage(baseline.urn, depth=depth, as_of=at, principal=principal), graph)
        return WhyReport(ref=ref, version=current, lineage=graph, at=at, label=label, tenure=tenure,
                         baseline_how=baseline_how, diff=result, notes=notes)

    def _label_of(self, version: Node, at: datetime | None) -> str | None:
        """The stage (not None/Archived) or else the first alias the version held at ``at`` (now when ``None``)."""
        stage = None
        for event in self.store.list_events(version.urn):
            if event.kind == "stage" and (at is None or event.at <= at):
                stage = str(event.payload.get("stage", ""))
        if stage and stage.lower() not in ("none", "archived"):
            return stage
        aliases = version.properties.get("aliases") or []
        return str(aliases[0]) if aliases else None

    def diff(self, a: str, b: str, *, depth: int = 6, at: datetime | None = None,
             principal: Principal = LOCAL_ADMIN) -> Diff:
        """What changed from model version ``a`` (the baseline) to ``b``, ranked; both are model references."""
        require(principal, Scope.read)
        nodes = [self._visible_node(self.resolve_model_ref(ref, principal), principal) for ref in (a, b)]
        for ref, node in zip((a, b), nodes):
            if node.kind.value != "model_version":
                raise InvalidQuery(f"{ref!r} is a {node.kind.value}, not a model version",
                                   hint="name model versions: MODEL/vN, MODEL@alias or URNs")
        old, new = (self.lineage(n.urn, depth=depth, as_of=at, principal=principal) for n in nodes)
        return lineage_diff(old, new)


def _archived_predecessor(current: Node, versions: dict[str, Node]) -> Node | None:
    """The newest version before ``current`` whose stage is Archived, when the registry's history is unknown."""
    def number(node: Node) -> int:
        value = str(node.properties.get("version", ""))
        return int(value) if value.isdigit() else -1

    earlier = [v for v in versions.values() if number(v) < number(current) and
               str(v.properties.get("stage", "")).lower() == "archived"]
    return max(earlier, key=number, default=None)
