"""Dataset identity shared by every source: one dataset is one node whatever tool saw it.

A dataset is identified by a normalised location URI:

* an OpenLineage ``namespace`` + ``name`` become a URI by the OpenLineage naming spec:
  ``s3://bucket`` + ``path/to/file`` → ``s3://bucket/path/to/file``;
  ``postgres://host:5432`` + ``db.schema.table`` → ``postgres://host:5432/db.schema.table``;
  the ``file`` namespace + ``/data/x.csv`` → ``file:///data/x.csv``; a namespace without a
  scheme (``bigquery``, ``food_delivery``) is kept as a prefix: ``bigquery/project.ds.table``.
* a source URI recorded by another tool (an MLflow dataset source) is normalised the same way;
  an absolute path is a ``file://`` URI.

Normalisation: scheme and host lower-case, scheme aliases folded (``s3a``/``s3n`` → ``s3``,
``postgresql`` → ``postgres``), credentials dropped from the authority, no trailing slash.
Paths, table names and query strings keep their case.
"""

from __future__ import annotations

from urllib.parse import quote

_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3", "postgresql": "postgres", "gcs": "gs"}


def normalize_location(location: str) -> str:
    """The canonical form of a dataset location (a URI, an absolute path, or an opaque name)."""
    value = location.strip()
    if value.startswith("/"):
        value = "file://" + value
    if "://" not in value:
        return value.rstrip("/") or value
    scheme, rest = value.split("://", 1)
    scheme = _SCHEME_ALIASES.get(scheme.lower(), scheme.lower())
    authority, slash, path = rest.partition("/")
    if "@" in authority:  # user:password@host — never part of an identity
        authority = authority.rsplit("@", 1)[1]
    authority = authority.lower()
    path = path.rstrip("/")
    return f"{scheme}://{authority}{slash if path else ''}{path}"


def openlineage_location(namespace: str, name: str) -> str:
    """The location URI of an OpenLineage dataset (namespace + name, by the naming spec)."""
    namespace, name = namespace.strip(), name.strip()
    if namespace.lower() in ("file", "file://"):
        return normalize_location("file://" + ("" if name.startswith("/") else "/") + name)
    if "://" in namespace:
        return normalize_location(namespace.rstrip("/") + "/" + name.lstrip("/"))
    return normalize_location(f"{namespace}/{name}")


def dataset_urn(location: str) -> str:
    """The URN of the dataset node at ``location`` (normalised here)."""
    return f"dataset://{normalize_location(location)}"


def dataset_version_urn(location: str, version: str) -> str:
    """One version of a dataset: a content key (digest, table version, version facet)."""
    return f"{dataset_urn(location)}@{quote(str(version), safe='.-_:+=')}"
