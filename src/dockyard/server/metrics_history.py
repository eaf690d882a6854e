"""Recent history of a server's metrics: a small ring file of samples that any process can read.

When ``DOCKYARD_METRICS_HISTORY`` names a file, worker 0 of the server appends a sample of the
board's totals (every field of :mod:`dockyard.server.metrics`, summed over the workers) every
``DOCKYARD_METRICS_INTERVAL_S`` seconds (default 10) from its event loop; the ring keeps two
hours (720 samples at 10 s). dockyard's SDK reads it (:func:`read_history`) for
``dockyard service metrics`` and the dashboard's charts, so the history outlives any viewer and
every process sees the same numbers. A server that restarts continues the ring (its counters
start again from zero: readers treat a counter that went down as a reset, as Prometheus does).

File layout (little-endian): a 40-byte header ``b"DYMH"``, format version (u32), row length
(u32), capacity (u32), interval (f64), samples written so far (u64), 8 spare bytes; then
``capacity`` records of ``row + 3`` doubles: the sample's sequence number (1, 2, ...), its time
(epoch seconds), the number of replicas it covers (1 for a server), the totals. Each record is written with one ``pwrite``; a reader skips a record
whose sequence number does not fit its slot (torn or stale).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import struct
import time

from dockyard.server import metrics as m

logger = logging.getLogger("dockyard.server")

MAGIC = b"DYMH"
VERSION = 1
#: Doubles in a record before the totals: sequence number, time, replicas.
_LEAD = 3
_HEADER = struct.Struct("<4sIIIdQ8x")
HEADER_SIZE = _HEADER.size
KEEP_S = 7200.0
DEFAULT_INTERVAL_S = 10.0


class HistoryFormatError(ValueError):
    """The file is not a history ring this version of dockyard can read."""


class HistoryWriter:
    """Appends samples of ``board`` to the ring file at ``path`` (one writer per file)."""

    def __init__(
        self, path: str, board: m.Board | None, interval_s: float = DEFAULT_INTERVAL_S
    ) -> None:
        self.path, self.board, self.interval_s = path, board, interval_s
        self.capacity = max(2, math.ceil(KEEP_S / interval_s))
        self.record = struct.Struct(f"<{m.ROW + _LEAD}d")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self.written = self._continue_or_reset()

    def _continue_or_reset(self) -> int:
        header = os.pread(self.fd, HEADER_SIZE, 0)
        if len(header) == HEADER_SIZE:
            magic, version, row, capacity, _, written = _HEADER.unpack(header)
            if (magic, version, row, capacity) == (MAGIC, VERSION, m.ROW, self.capacity):
                return int(written)
        os.ftruncate(self.fd, 0)
        os.ftruncate(self.fd, HEADER_SIZE + self.capacity * self.record.size)
        self._write_header(0)
        return 0

    def _write_header(self, written: int) -> None:
        header = _HEADER.pack(MAGIC, VERSION, m.ROW, self.capacity, self.interval_s, written)
        os.pwrite(self.fd, header, 0)

    def sample(
        self, now: float | None = None, totals: list[float] | None = None, replicas: int = 1
    ) -> None:
        """Append one sample: ``totals`` (default: the board's, taken now) at ``now``."""
        if totals is None:
            assert self.board is not None, "a writer without a board needs the totals"
            totals = self.board.totals()
        seq = self.written + 1
        t = time.time() if now is None else now
        values = self.record.pack(seq, t, replicas, *totals)
        slot = (seq - 1) % self.capacity
        os.pwrite(self.fd, values, HEADER_SIZE + slot * self.record.size)
        self.written = seq
        self._write_header(seq)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


async def sample_forever(writer: HistoryWriter) -> None:
    """Sample now and then every interval, until cancelled (runs on a worker's event loop)."""
    try:
        while True:
            try:
                writer.sample()
            except OSError as exc:
                logger.warning(
                    f"Metrics history: cannot write {writer.path} ({exc}); no more samples. "
                    "Check that the folder is writable, or unset DOCKYARD_METRICS_HISTORY."
                )
                return
            await asyncio.sleep(writer.interval_s)
    finally:
        writer.close()


def start_sampling(board: m.Board) -> asyncio.Task[None] | None:
    """On the running loop: sample into ``DOCKYARD_METRICS_HISTORY`` if it is set."""
    path = os.environ.get(m.HISTORY_ENV)
    if not path:
        return None
    interval = DEFAULT_INTERVAL_S
    raw = os.environ.get(m.INTERVAL_ENV)
    if raw:
        try:
            interval = max(0.05, float(raw))
        except ValueError:
            logger.warning(f"{m.INTERVAL_ENV}={raw!r} is not a number; sampling every {interval} s")
    try:
        writer = HistoryWriter(path, board, interval)
    except OSError as exc:
        logger.warning(
            f"Metrics history: cannot open {path} ({exc}); the server keeps no history. "
            "Check that the folder is writable, or unset DOCKYARD_METRICS_HISTORY."
        )
        return None
    return asyncio.get_running_loop().create_task(sample_forever(writer))


def read_history(path: str, since: float = 0.0) -> list[tuple[float, int, list[float]]]:
    """The samples in the ring at ``path`` taken at or after ``since`` (epoch s), oldest first:
    ``(time, replicas, totals)`` with totals laid out as a row of :mod:`dockyard.server.metrics`.

    Raises ``FileNotFoundError`` when there is no such file and :class:`HistoryFormatError` when it
    is not a ring of this format.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) < HEADER_SIZE:
        raise HistoryFormatError(f"{path} is too short to be a metrics history file")
    magic, version, row, capacity, _, written = _HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != VERSION or row != m.ROW:
        raise HistoryFormatError(
            f"{path} is not a metrics history file of this dockyard version "
            f"(format {version}, row {row}; expected {VERSION}, {m.ROW}); redeploy the service"
        )
    record = struct.Struct(f"<{row + _LEAD}d")
    samples: list[tuple[int, float, int, list[float]]] = []
    first = max(1, written - capacity + 1)
    for seq in range(first, written + 1):
        offset = HEADER_SIZE + ((seq - 1) % capacity) * record.size
        if offset + record.size > len(data):
            break
        values = record.unpack_from(data, offset)
        if int(values[0]) != seq or values[1] < since:
            continue
        samples.append((seq, values[1], int(values[2]), list(values[_LEAD:])))
    samples.sort()
    return [(t, replicas, totals) for _, t, replicas, totals in samples]
