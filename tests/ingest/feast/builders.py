"""A real Feast feature repository: local provider, file registry, SQLite online store, `feast apply`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

FEATURE_STORE_YAML = textwrap.dedent(
    """\
    project: churn_features
    provider: local
    registry: data/registry.db
    online_store:
      type: sqlite
      path: data/online.db
    entity_key_serialization_version: 3
    """
)

DEFINITIONS = textwrap.dedent(
    '''\
    from datetime import timedelta

    import pandas as pd
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float32, Float64, Int64
    from feast.value_type import ValueType

    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64,
                      description="A paying customer", tags={"team": "growth"})
    customers_source = FileSource(name="customers_source", path="data/customers.parquet",
                                  timestamp_field="event_timestamp", created_timestamp_column="created")
    customer_stats = FeatureView(
        name="customer_stats", entities=[customer], ttl=timedelta(days=TTL_DAYS),
        schema=[Field(name="tenure_days", dtype=Int64), Field(name="monthly_spend", dtype=Float32)],
        source=customers_source, tags={"team": "growth"}, description="Tenure and monthly spend per customer",
        owner="li.wei@example.com", online=True)
    discount = RequestSource(name="discount", schema=[Field(name="discount", dtype=Float64)])


    @on_demand_feature_view(sources=[customer_stats, discount], schema=[Field(name="spend_after_discount", dtype=Float64)])
    def spend_after_discount(inputs: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame()
        out["spend_after_discount"] = inputs["monthly_spend"] * (1 - inputs["discount"])
        return out

    SERVICES
    '''
)

SERVICE = (
    'churn_v1 = FeatureService(name="churn_v1", features=[customer_stats, spend_after_discount],\n'
    '                          description="Features of the churn model", tags={"model": "churn"})\n'
)


def write_repo(repo: Path, *, ttl_days: int = 30, with_service: bool = True) -> Path:
    """Write the definitions and the parquet source (with pandas); does not apply them."""
    import pandas as pd

    (repo / "data").mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(FEATURE_STORE_YAML)
    (repo / "definitions.py").write_text(
        DEFINITIONS.replace("TTL_DAYS", str(ttl_days)).replace("SERVICES", SERVICE if with_service else "")
    )
    moment = datetime(2026, 3, 1, tzinfo=timezone.utc)
    pd.DataFrame({
        "customer_id": [1, 2, 3],
        "event_timestamp": [moment] * 3,
        "created": [moment] * 3,
        "tenure_days": [10, 400, 35],
        "monthly_spend": [9.5, 30.0, 12.25],
    }).to_parquet(repo / "data" / "customers.parquet")
    return repo


def feast_apply(repo: Path) -> None:
    """The real `feast apply` command line, in the repository."""
    feast = Path(sys.executable).with_name("feast")
    done = subprocess.run([str(feast), "apply"], cwd=repo, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"feast apply failed:\n{done.stdout}\n{done.stderr}")
