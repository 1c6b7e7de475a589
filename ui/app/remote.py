"""The app's handle on a memory served by a running API (``xmem ui --api URL``): the same verbs as
:class:`ui.app.memory.AppMemory`, over HTTP with a bearer token, returning the same result types."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any, Union
from urllib.parse import quote

import httpx

from memory import digest as digest_types
from memory import errors
from memory.entities import Edge, Event, Node, NodeKind, Source
from memory.errors import SourceUnavailable, Unauthorized, XmemError
from memory.query import Compare, FieldRef, In, SearchQuery
from memory.query.natural import ParsedQuestion
from memory.service import Answer, Diff, Hit, Lineage, NodeView, SearchResult
from memory.why import Change, MetricDelta

TIMEOUT_S = 120.0  # an ask can embed and rank for a while on a busy server
TOKEN_HINT = "create a token with `xmem token create NAME --scopes read` and pass it with --token (or XMEM_API_TOKEN)"


def _error_classes() -> dict[str, type[XmemError]]:
    found: dict[str, type[XmemError]] = {}
    pending: list[type[XmemError]] = [XmemError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.title, cls)
        pending.extend(cls.__subclasses__())
    return found


def _by_status(status: int) -> type[XmemError]:
    for cls in _error_classes().values():
        if cls.status_code == status and cls is not XmemError:
            return cls
    return XmemError


class RemoteMemory:
    """The read verbs the pages use, over the HTTP API (``GET /search``, ``POST /ask``, ``GET /nodes/…``, …)."""

    def __init__(self, url: str, token: str | None, *, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT_S)
        me = self._call("GET", "/me")
        self.caller: str = me["name"]
        self.scopes: list[str] = me["scopes"]
        self._projects: list[str] = me["projects"]

    def close(self) -> None:
        self.client.close()

    # -- HTTP
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"the API at {self.url} does not answer ({exc.__class__.__name__}: {exc})",
                                    hint="is `xmem serve` running there? check the --api URL") from None
        if response.status_code < 400:
            return response.json()
        try:
            problem = response.json()
            detail = str(problem.get("detail") or response.reason_phrase)
            title = problem.get("title")
        except ValueError:
            problem, detail, title = {}, response.text[:300] or response.reason_phrase, None
        if response.status_code == 401:
            raise Unauthorized(f"the API at {self.url} refused the token: {detail}", hint=TOKEN_HINT)
        if response.status_code == 403:
            raise errors.Forbidden(f"the API at {self.url} refused: {detail}",
                                   hint="the app needs a token with the read scope")
        cls = _error_classes().get(title or "") or _by_status(response.status_code)
        if cls is errors.InvalidQuery:
            raise errors.InvalidQuery(detail, position=problem.get("position"))
        raise cls(detail)

    # -- the verbs
    def describe(self) -> str:
        return f"API at {self.url}, as token {self.caller.removeprefix('token:')} ({', '.join(self.scopes)})"

    def ask(self, question: str, *, limit: int = 10) -> Answer:
        return answer_of(self._call("POST", "/ask", json={"question": question, "limit": limit}))

    def search(self, text: str, *, where: str | None = None, limit: int = 10, group: bool = True) -> SearchResult:
        params: dict[str, Any] = {"q": text, "limit": limit, "group": str(group).lower()}
        if where:
            params["where"] = where
        body = self._call("GET", "/search", params=params)
        hits = [hit_of(h) for h in body["data"]]
        return SearchResult(query=SearchQuery(text=text, limit=limit, group=group), hits=hits,
                            total_candidates=len(hits), backend=f"api {self.url}", confidence=body.get("confidence", 0.0))

    def show(self, urn: str) -> NodeView:
        body = self._call("GET", f"/nodes/{quote(urn, safe='')}")
        return NodeView(
            node=Node.model_validate(body["node"]),
            neighbours=[(Edge.model_validate(n["edge"]), Node.model_validate(n["node"])) for n in body["neighbours"]],
            events=[Event(urn=body["node"]["urn"], **e) for e in body["events"]],
        )

    def lineage(self, urn: str, *, direction: str = "up", depth: int = 3, as_of: datetime | None = None) -> Lineage:
        params: dict[str, Any] = {"direction": direction, "depth": depth}
        if as_of is not None:
            params["as_of"] = as_of.isoformat()
        return lineage_of(self._call("GET", f"/lineage/{quote(urn, safe='')}", params=params))

    def diff(self, a: str, b: str, *, at: datetime | None = None) -> Diff:
        params: dict[str, Any] = {"a": a, "b": b}
        if at is not None:
            params["at"] = at.isoformat()
        return diff_of(self._call("GET", "/diff", params=params))

    def digest(self, since: datetime, until: datetime, *, projects: tuple[str, ...] = ()) -> digest_types.Digest:
        params = {"since": since.isoformat(), "until": until.isoformat(), "project": list(projects)}
        return digest_of(self._call("GET", "/digest", params=params))

    def projects(self) -> list[str]:
        return list(self._projects)


# -- JSON back to the domain types ------------------------------------------------------------
def hit_of(data: dict[str, Any]) -> Hit:
    fields = {f.name for f in dataclasses.fields(Hit)}
    values = {k: v for k, v in data.items() if k in fields}
    values["time"] = datetime.fromisoformat(data["time"]) if data.get("time") else None
    values["group_outcomes"] = list(data.get("group_outcome_range") or [])
    return Hit(**values)


def lineage_of(data: dict[str, Any]) -> Lineage:
    return Lineage(
        root=data["root"], direction=data["direction"],
        nodes={n["urn"]: Node.model_validate(n) for n in data["nodes"]},
        depth_of=dict(data["depth"]), edges=[Edge.model_validate(e) for e in data["edges"]],
        as_of=datetime.fromisoformat(data["as_of"]) if data.get("as_of") else None,
    )


def _node_of_ref(ref: dict[str, Any] | None) -> Node | None:
    """A node named in a diff: the API gives its URN, name, kind and link (what the pages show of it)."""
    if ref is None:
        return None
    system = ref["urn"].split("://", 1)[0]
    return Node(urn=ref["urn"], kind=NodeKind(ref["kind"]), name=ref["name"],
                source=Source(system=system, instance="", id=ref["urn"], url=ref.get("url")))


def diff_of(data: dict[str, Any]) -> Diff:
    current, baseline = _node_of_ref(data["current"]), _node_of_ref(data["baseline"])
    assert current is not None and baseline is not None
    return Diff(current=current, baseline=baseline, current_run=_node_of_ref(data.get("current_run")),
                baseline_run=_node_of_ref(data.get("baseline_run")),
                changes=[Change(**c) for c in data["changes"]], metrics=[MetricDelta(**m) for m in data["metrics"]])


def _field_ref(name: str) -> FieldRef:
    namespace, _, rest = name.partition(".")
    return FieldRef(namespace, rest) if rest and namespace in ("metric", "param", "tag") else FieldRef("attr", name)  # type: ignore[arg-type]


def _value(field: FieldRef, value: Any) -> Any:
    return datetime.fromisoformat(value) if field == FieldRef("attr", "time") and isinstance(value, str) else value


def condition_of(data: dict[str, Any]) -> Compare | In:
    field = _field_ref(data["field"])
    if data["op"] == "in":
        return In(field, tuple(_value(field, v) for v in data["values"] or ()))
    return Compare(field, data["op"], _value(field, data["value"]))


def parsed_of(question: str, data: dict[str, Any]) -> ParsedQuestion:
    when = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
    return ParsedQuestion(
        question=question, intent=data["intent"], text=data["text"], projects=tuple(data["projects"]),
        people=tuple(data["people"]), kinds=tuple(data["kinds"]), since=when(data.get("since")),
        until=when(data.get("until")), conditions=tuple(condition_of(c) for c in data.get("condition_terms", [])),
        asks_outcome=data["asks_outcome"], subjects=tuple(data["subjects"]),
    )


def answer_of(data: dict[str, Any]) -> Answer:
    return Answer(
        question=data["question"], parsed=parsed_of(data["question"], data["parsed"]), summary=data["summary"],
        hits=[hit_of(h) for h in data["hits"]], notes=list(data["notes"]), confidence=data["confidence"],
        closest=[hit_of(h) for h in data.get("closest", [])],
        lineage=lineage_of(data["lineage"]) if data.get("lineage") else None,
        diff=diff_of(data["diff"]) if data.get("diff") else None,
        digest=digest_of(data["digest"]) if data.get("digest") else None,
    )


def _build(kind: Any, value: Any) -> Any:
    """``value`` (plain JSON) as ``kind``: dataclasses, lists, dicts, optionals and datetimes of :mod:`memory.digest`."""
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _build(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_build(item, v) for v in value]
    if kind is datetime:
        return datetime.fromisoformat(value)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind, vars(digest_types))
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{k: _build(hints[k], v) for k, v in value.items() if k in names})
    return value


def digest_of(data: dict[str, Any]) -> digest_types.Digest:
    return _build(digest_types.Digest, data)  # type: ignore[no-any-return]
