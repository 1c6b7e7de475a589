"""Read a W&B run file (``run-<id>.wandb``): the records the client wrote, in order.

The file is a 7-byte header (``:W&B``, magic ``0xBEE1`` little-endian, version 0) followed by
the LevelDB log format: 32 KiB blocks (counted from the start of the file, header included),
each holding records with a 7-byte header — checksum (4 bytes), length (2), type (1), all
little-endian — then the data. A record that does not fit in a block is split FIRST, MIDDLE…,
LAST across blocks; fewer than 7 bytes left at the end of a block are zero padding. The
checksum is W&B's variant: the plain IEEE CRC-32 (``zlib.crc32``) of the type byte followed by
the data, not masked (LevelDB itself uses a masked CRC-32C). Each reassembled record is one
serialised ``wandb_internal_pb2.Record``.

Only the framing is read here (bytes in, bytes out); decoding the protobufs is the caller's.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
HEADER_LEN = len(HEADER)
BLOCK_LEN = 32 * 1024
RECORD_HEADER_LEN = 7
ZERO, FULL, FIRST, MIDDLE, LAST = 0, 1, 2, 3, 4
_RECORD_HEADER = struct.Struct("<IHB")


class CorruptRunFile(ValueError):
    """The file is not a W&B run file or a record in it is damaged; ``offset`` is where."""

    def __init__(self, path: str | Path, offset: int, reason: str) -> None:
        super().__init__(f"{path}: offset {offset}: {reason}")
        self.path = str(path)
        self.offset = offset
        self.reason = reason


@dataclass
class ReadResult:
    """What :func:`iter_records` found at the end of the file."""

    records: int = 0
    #: bytes at the end that do not make a complete record (a run still being written), and where they start
    truncated_at: int | None = None
    truncated_bytes: int = 0
    notes: list[str] = field(default_factory=list)


def iter_records(path: str | Path, data: bytes | None = None, result: ReadResult | None = None) -> Iterator[tuple[int, bytes]]:
    """Each complete record as ``(offset of its first fragment, payload)``.

    Raises :class:`CorruptRunFile` for a bad header, a checksum mismatch, an unknown fragment type
    or fragments out of order. An incomplete record at the very end (the writer had not finished
    it) is not an error: it is left out and noted in ``result.truncated_at``.
    """
    if data is None:
        data = Path(path).read_bytes()
    result = result if result is not None else ReadResult()
    if len(data) < HEADER_LEN:
        if HEADER.startswith(data):
            result.truncated_at, result.truncated_bytes = 0, len(data)
            return
        raise CorruptRunFile(path, 0, "not a W&B run file (no ':W&B' header)")
    if data[:4] != HEADER[:4]:
        raise CorruptRunFile(path, 0, "not a W&B run file (no ':W&B' header)")
    if data[:HEADER_LEN] != HEADER:
        magic, version = struct.unpack_from("<HB", data, 4)
        raise CorruptRunFile(path, 4, f"unsupported W&B log header (magic {magic:#06x}, version {version})")

    size = len(data)
    pos = HEADER_LEN
    pending: list[bytes] = []
    pending_start = -1
    crc32, unpack_from = zlib.crc32, _RECORD_HEADER.unpack_from
    while pos < size:
        left = BLOCK_LEN - pos % BLOCK_LEN
        if left < RECORD_HEADER_LEN:  # block trailer: zero padding
            pos += left
            continue
        if pos + RECORD_HEADER_LEN > size:
            break
        checksum, length, kind = unpack_from(data, pos)
        end = pos + RECORD_HEADER_LEN + length
        if length > left - RECORD_HEADER_LEN:
            raise CorruptRunFile(path, pos, f"record length {length} runs past its 32 KiB block")
        if end > size:
            break
        payload = data[pos + RECORD_HEADER_LEN:end]
        if kind == ZERO and length == 0 and checksum == 0:  # preallocated zeros: nothing more was written
            if any(data[pos:]):
                raise CorruptRunFile(path, pos, "zero record header followed by data")
            pos = size
            break
        if crc32(payload, crc32(bytes((kind,)))) != checksum:
            raise CorruptRunFile(path, pos, f"checksum mismatch in a {length}-byte record")
        if kind == FULL:
            if pending:
                raise CorruptRunFile(path, pos, "FULL record inside an unfinished FIRST…LAST sequence")
            result.records += 1
            yield pos, payload
        elif kind == FIRST:
            if pending:
                raise CorruptRunFile(path, pos, "FIRST record inside an unfinished FIRST…LAST sequence")
            pending, pending_start = [payload], pos
        elif kind in (MIDDLE, LAST):
            if not pending:
                raise CorruptRunFile(path, pos, f"{'MIDDLE' if kind == MIDDLE else 'LAST'} record without a FIRST")
            pending.append(payload)
            if kind == LAST:
                result.records += 1
                yield pending_start, b"".join(pending)
                pending = []
        else:
            raise CorruptRunFile(path, pos, f"unknown record type {kind}")
        pos = end
    if pending or pos < size:
        start = pending_start if pending else pos
        result.truncated_at, result.truncated_bytes = start, size - start
