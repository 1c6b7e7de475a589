"""Secrets never reach the store or the index."""

from memory.entities import NodeKind, NodeUpsert, Source
from memory.redact import REDACTED, redact_records, redact_text, redact_value


def test_values_under_secret_keys_are_redacted() -> None:
    props = {
        "params": {"api_key": "abc123", "db_password": "hunter2", "lr": "0.1", "tokenizer": "bpe", "max_tokens": "512"},
        "tags": {"AWS_SECRET_ACCESS_KEY": "x" * 40, "team": "growth"},
    }
    out = redact_value(props)
    assert out["params"] == {"api_key": REDACTED, "db_password": REDACTED, "lr": "0.1", "tokenizer": "bpe", "max_tokens": "512"}
    assert out["tags"] == {"AWS_SECRET_ACCESS_KEY": REDACTED, "team": "growth"}


def test_secret_looking_values_are_redacted_anywhere() -> None:
    text = (
        "pulled with ghp_" + "a" * 36 + " from postgres://etl:s3cr3t@db.internal:5432/x, key AKIAABCDEFGHIJKLMNOP, "
        "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    redacted = redact_text(text)
    for secret in ("ghp_", "s3cr3t", "AKIAABCDEFGHIJKLMNOP", "eyJhbGci"):
        assert secret not in redacted
    assert "postgres://etl:[REDACTED]@db.internal" in redacted


def test_records_stream_redacts_names_notes_and_properties() -> None:
    record = NodeUpsert(
        urn="t://r1", kind=NodeKind.run, name="run with sk-" + "b" * 30, source=Source(system="t", instance="i", id="1"),
        description="token hf_" + "c" * 34, properties={"params": {"openai_api_key": "sk-zzz"}},
    )
    (out,) = list(redact_records([record]))
    assert "sk-" not in out.name and "hf_" not in (out.description or "")
    assert out.properties["params"]["openai_api_key"] == REDACTED
