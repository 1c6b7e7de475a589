"""URNs of Feast objects, and the rule that links a training run to the features it used.

Importing this module does not import Feast: the MLflow and W&B mappings use it to emit
``run -used_features->`` edges from a run's own tags or config, without reading Feast.

The rule: a run that names a Feast project (``feast.project``) and a feature service
(``feast.feature_service``) or feature views (``feast.feature_views``, comma-separated) —
the tags Feast's MLflow integration sets (``store.mlflow.start_run()``, historical retrieval
with ``mlflow: enabled``), or the same keys in a W&B run's config (``{"feast": {"project": …,
"feature_service": …}}``) or as W&B tags ``feast.feature_service=<name>`` — gets one
``used_features`` edge to each named node of that project. The edges exist before the Feast
repository is ingested; they join when ``xmem ingest feast`` writes the nodes.
"""

from __future__ import annotations

from typing import Iterable, Mapping
from urllib.parse import quote

PROJECT_KEY = "feast.project"
SERVICE_KEY = "feast.feature_service"
VIEWS_KEY = "feast.feature_views"


def project_urn(project: str) -> str:
    return f"feast://{quote(project, safe='')}"


def object_urn(project: str, collection: str, name: str) -> str:
    """``feast://<project>/<collection>/<name>``; collections: entities, feature_views (every kind of
    view: Feast names are unique across them), feature_services, data_sources."""
    return f"{project_urn(project)}/{collection}/{quote(name, safe='')}"


def feature_view_urn(project: str, name: str) -> str:
    return object_urn(project, "feature_views", name)


def feature_service_urn(project: str, name: str) -> str:
    return object_urn(project, "feature_services", name)


def feature_links(values: Mapping[str, object], labels: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(key, URN)`` of each Feast node a run names (see the module docstring); sorted, distinct."""
    named = {k: str(v) for k, v in values.items() if k in (PROJECT_KEY, SERVICE_KEY, VIEWS_KEY) and v not in (None, "")}
    for label in labels:  # W&B tags: "feast.feature_service=churn_v1"
        key, sep, value = label.partition("=")
        if sep and key.strip() in (PROJECT_KEY, SERVICE_KEY, VIEWS_KEY) and value.strip():
            named.setdefault(key.strip(), value.strip())
    project = named.get(PROJECT_KEY)
    if not project:
        return []
    links = set()
    if named.get(SERVICE_KEY):
        links.add((SERVICE_KEY, feature_service_urn(project, named[SERVICE_KEY])))
    for view in (named.get(VIEWS_KEY) or "").split(","):
        if view.strip():
            links.add((VIEWS_KEY, feature_view_urn(project, view.strip())))
    return sorted(links)
