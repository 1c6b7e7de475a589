"""Secret redaction, applied to every record before it is stored or indexed.

A value is redacted when its key names a credential (``password``, ``api_key``,
``token``…) or when the value itself looks like one (cloud keys, bearer tokens, JWTs,
private keys, passwords inside URLs).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from memory.entities import EdgeUpsert, EventRecord, NodeUpsert, Record

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api[_\-.]?key|access[_\-.]?key|private[_\-.]?key|credential|auth(orization)?|"
    r"session[_\-.]?key|client[_\-.]?secret|connection[_\-.]?string|sas[_\-.]?token|bearer)",
    re.IGNORECASE,
)
#: keys that merely mention a secret-like word but hold no secret
_SAFE_KEY = re.compile(r"(^|[._\-])(tokenizer|max_tokens?|num_tokens?|tokens?_per|token_count|n_tokens)", re.IGNORECASE)
_SECRET_VALUES = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*\S+"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub tokens
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"sk-[A-Za-z0-9_\-]{20,}"),  # OpenAI-style keys
    re.compile(r"hf_[A-Za-z0-9]{30,}"),  # Hugging Face tokens
    re.compile(r"AIza[0-9A-Za-z_\-]{35}"),  # Google API keys
    re.compile(r"eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),  # JWT
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{16,}"),
]
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@")


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not _SAFE_KEY.search(key)


def redact_text(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{REDACTED}@", text)
    for pattern in _SECRET_VALUES:
        text = pattern.sub(REDACTED, text)
    return text


def redact_value(value: Any, key: str = "") -> Any:
    if key and is_secret_key(key) and isinstance(value, (str, int, float)) and value not in ("", None):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, key) for v in value]
    return value


def redact_records(records: Iterable[Record]) -> Iterator[Record]:
    """Stream step: node names, descriptions and properties, edge properties and event payloads with secrets removed."""
    for record in records:
        if isinstance(record, NodeUpsert):
            record = record.model_copy(
                update={
                    "name": redact_text(record.name),
                    "description": redact_text(record.description) if record.description else record.description,
                    "properties": redact_value(record.properties),
                }
            )
        elif isinstance(record, EdgeUpsert) and record.properties:
            record = record.model_copy(update={"properties": redact_value(record.properties)})
        elif isinstance(record, EventRecord) and record.payload:
            record = record.model_copy(update={"payload": redact_value(record.payload)})
        yield record
