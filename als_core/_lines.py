"""Physical lines of a text file, counted the way pyarrow's CSV parser splits records.

A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r``. pyarrow skips empty lines and numbers every
other record from 1 (the header included); a quoted field may hold line breaks, so a record can
span several lines. The reader needs two facts from that: how many lines were blank (for its
report) and on which line a given record starts (for its messages). Both come from one pass of
numpy over the bytes, in chunks, so a 300 MB file costs well under a second and no more than
a few chunks of memory; the slow exact walk with the ``csv`` module runs only when records do
span lines and a message needs a line number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

CHUNK_BYTES = 8 * 2**20
_LF, _CR = 10, 13


def chunks(read: Callable[[int], bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Pieces of a byte stream that never end between the two bytes of ``\\r\\n``."""
    carry = b""
    while True:
        piece = read(size)
        if not piece:
            if carry:
                yield carry
            return
        piece = carry + piece
        carry = b""
        if piece.endswith(b"\r"):
            carry = piece[-1:]
            piece = piece[:-1]
            if not piece:
                continue
        yield piece


@dataclass
class LineScan:
    """The result of one pass: line counts and where the wanted records start."""

    lines: int  # physical lines (a last line without a line break counts)
    empty: int  # lines with nothing on them
    starts: dict[int, int]  # wanted record number (1-based, non-empty lines) -> its line


def scan(pieces: Iterator[bytes], wanted: np.ndarray | None = None) -> LineScan:
    """Count lines and empty lines; map each ``wanted`` non-empty-line number to its line."""
    wanted = np.unique(np.asarray([] if wanted is None else wanted, dtype=np.int64))
    lines = empty = nonempty = 0
    open_length = 0  # bytes of the line still open at the end of the previous piece
    starts: dict[int, int] = {}
    for piece in pieces:
        a = np.frombuffer(piece, dtype=np.uint8)
        ends = np.flatnonzero(a == _LF)  # last byte of each line break
        crs = np.flatnonzero(a == _CR)
        if crs.size:
            nxt = np.minimum(crs + 1, len(a) - 1)
            lone = crs[(crs + 1 >= len(a)) | (a[nxt] != _LF)]
            if lone.size:
                ends = np.union1d(ends, lone)
        if ends.size == 0:
            open_length += len(piece)
            continue
        # A \r\n break starts one byte before its \n.
        before = a[np.maximum(ends - 1, 0)]
        break_starts = ends - ((a[ends] == _LF) & (before == _CR) & (ends > 0))
        previous_ends = np.empty_like(ends)
        previous_ends[0] = -1
        previous_ends[1:] = ends[:-1]
        lengths = break_starts - previous_ends - 1
        lengths[0] += open_length
        blank = lengths == 0
        if wanted.size:
            numbers = nonempty + np.cumsum(~blank)  # non-empty-line number of each line
            hit = ~blank & np.isin(numbers, wanted)
            for index in np.flatnonzero(hit):
                starts[int(numbers[index])] = lines + int(index) + 1
        lines += int(ends.size)
        empty += int(blank.sum())
        nonempty += int((~blank).sum())
        open_length = len(piece) - int(ends[-1]) - 1
    if open_length:
        lines += 1
        nonempty += 1
        if nonempty in set(wanted.tolist()):
            starts[nonempty] = lines
    return LineScan(lines=lines, empty=empty, starts=starts)


def record_starts_by_csv(text: bytes, wanted: np.ndarray, *, delimiter: str) -> dict[int, int]:
    """Start line of each wanted record (1-based, empty lines not counted) when records span
    lines: Python's csv module walks the quoting the way pyarrow does."""
    remaining = set(np.asarray(wanted, dtype=np.int64).tolist())
    out: dict[int, int] = {}
    if not remaining:
        return out
    stream = io.TextIOWrapper(io.BytesIO(text), encoding="utf-8", errors="replace", newline="")
    reader = csv.reader(stream, delimiter=delimiter, quotechar='"', strict=False)
    record = 0
    last_line = 0
    for fields in reader:
        first_line = last_line + 1
        last_line = reader.line_num
        if not fields:
            continue  # an empty line: pyarrow does not count it
        record += 1
        if record in remaining:
            out[record] = first_line
            remaining.discard(record)
            if not remaining:
                break
    return out
