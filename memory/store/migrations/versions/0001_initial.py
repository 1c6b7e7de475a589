"""The lineage graph: nodes, edges, events, sync state.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from memory.store.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("urn", sa.String(1024), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("source_key", sa.String(1024), nullable=False),
        sa.Column("project", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("created_at", UtcDateTime),
        sa.Column("updated_at", UtcDateTime),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(128)),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("deleted_at", UtcDateTime),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("index_pending", sa.Boolean, nullable=False),
    )
    op.create_index("ix_nodes_kind", "nodes", ["kind"])
    op.create_index("ix_nodes_system", "nodes", ["system"])
    op.create_index("ix_nodes_source_key", "nodes", ["source_key"])
    op.create_index("ix_nodes_index_pending", "nodes", ["index_pending"])
    op.create_table(
        "edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("src", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dst", sa.String(1024), nullable=False),
        sa.Column("source_key", sa.String(1024), nullable=False),
        sa.Column("valid_from", UtcDateTime),
        sa.Column("valid_to", UtcDateTime),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.UniqueConstraint("src", "kind", "dst", name="uq_edges_src_kind_dst"),
    )
    op.create_index("ix_edges_dst", "edges", ["dst"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(64), nullable=False, unique=True),
        sa.Column("urn", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("source_key", sa.String(1024), nullable=False),
    )
    op.create_index("ix_events_urn", "events", ["urn"])
    op.create_index("ix_events_at", "events", ["at"])
    op.create_table(
        "sync_state",
        sa.Column("source_key", sa.String(1024), primary_key=True),
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("cursor", sa.JSON, nullable=False),
        sa.Column("last_sync_at", UtcDateTime),
        sa.Column("last_report", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    op.drop_table("events")
    op.drop_table("edges")
    op.drop_table("nodes")
