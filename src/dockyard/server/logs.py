"""Logging for the scoring server: one stdout stream, request ids on every line where known.

* Server and user log records (``logging`` and ``print()``) go to stdout in azmlinfsrv's format
  (``2026-01-01 12:00:00,123 I [pid] logger - message``), with ` rid=<request id>` after the logger
  name while a ``run()`` call is in progress, and are flushed at once: a crash never eats the last
  lines before it.
* The per-request access line (``POST /score 200 0.412ms 37 rid=...``) is the hot path. It skips
  the ``logging`` machinery and is buffered for at most 50 ms (or 64 KiB); any other record flushes
  the buffer first, so the order of lines is kept.
* ``print()`` to stdout becomes a record of the ``dockyard.print`` logger, as azmlinfsrv does with
  its ``azmlinfsrv.print`` logger, so user output carries the timestamp and the request id.
"""

from __future__ import annotations

import builtins
import functools
import json
import logging
import logging.config
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

_context = threading.local()
_default_print = builtins.print
_time = time.time
FILE_TREE_LOG_LINE_LIMIT = 200


def set_request_id(request_id: str | None) -> None:
    """Attach ``request_id`` to the log records this thread emits from now on (None: detach)."""
    _context.rid = request_id


def current_request_id() -> str | None:
    return getattr(_context, "rid", None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        rid = getattr(_context, "rid", None)
        record.rid = f" rid={rid}" if rid else ""
        return True


class ServerFormatter(logging.Formatter):
    """azmlinfsrv's line format (UTC timestamps), plus the request id."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname).1s [%(process)d] %(name)s%(rid)s - %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "rid"):
            record.rid = ""
        return super().format(record)


#: "000" ... "999" (and "1000", as ``f"{1000:03d}"``): the milliseconds of a timestamp, preformatted
_MILLIS = tuple(f"{n:03d}" for n in range(1001))


class LogSink:
    """The process's single writer to stdout (records written at once, access lines batched)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._pending: list[str] = []
        self._pending_size = 0
        self._flush_scheduled = False
        self._loop: Any = None
        self._sec = -1
        self._sec_text = ""
        self._tag = f" I [{os.getpid()}] dockyard.access - "

    def attach_loop(self, loop: Any) -> None:
        """Use ``loop`` to schedule the delayed flush of access lines."""
        self._loop = loop
        self._tag = f" I [{os.getpid()}] dockyard.access - "

    def access(self, method: str, path: str, status: int, ms: float, size: int, rid: str) -> None:
        """Queue the line ``METHOD PATH STATUS 0.412ms SIZE rid=RID`` (event-loop thread only).

        The hot path of logging: one format of the whole line, behind a timestamp whose seconds
        are formatted once a second (azmlinfsrv's ``2026-01-01 12:00:00,123``, UTC).
        """
        now = _time()
        sec = int(now)
        if sec != self._sec:
            self._sec = sec
            self._sec_text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec))
        line = (
            f"{self._sec_text},{_MILLIS[int((now - sec) * 1000)]}{self._tag}"
            f"{method} {path} {status} {ms:.3f}ms {size} rid={rid}\n"
        )
        self._pending.append(line)
        self._pending_size += len(line)
        if self._pending_size > 65536:
            self.flush()
        elif not self._flush_scheduled:
            if self._loop is None:
                self.flush()
            else:
                self._flush_scheduled = True
                self._loop.call_later(0.05, self.flush)

    def flush(self) -> None:
        """Write the queued access lines now."""
        with self.lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._flush_scheduled = False
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except (OSError, ValueError):
                pass

    def write_now(self, text: str) -> None:
        """Write ``text`` after any queued access lines, and flush."""
        with self.lock:
            pending = self._pending
            if pending:
                text = "".join(pending) + text
                pending.clear()
                self._pending_size = 0
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except (OSError, ValueError):
                pass


SINK = LogSink()


class SinkHandler(logging.Handler):
    """A logging handler that writes through :data:`SINK` (keeps order with access lines)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            SINK.write_now(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging must never raise into the caller
            self.handleError(record)


def _print_to_logger(
    *objects: Any,
    sep: str | None = " ",
    end: str | None = "\n",
    file: Any = None,
    flush: bool = False,
) -> None:
    target = file or sys.stdout
    if target is sys.stdout:
        logging.getLogger("dockyard.print").info(
            (sep if sep is not None else " ").join(map(str, objects))
        )
    else:
        _default_print(*objects, sep=sep, end=end, file=file, flush=flush)


def redirect_print() -> None:
    """Send ``print()`` to stdout through the ``dockyard.print`` logger (as azmlinfsrv does)."""
    builtins.print = functools.wraps(_default_print)(_print_to_logger)


def configure_logging(level: str, config_dirs: list[str]) -> str | None:
    """Install the stdout handler on the root logger at ``level``.

    If a ``logging.json`` (a ``logging.config.dictConfig`` document) exists in one of
    ``config_dirs`` (the app root, then the entry script's folder), it is applied afterwards, as
    azmlinfsrv does. Returns the path of the file applied, if any.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, SinkHandler):
            root.removeHandler(handler)
    handler = SinkHandler()
    handler.setFormatter(ServerFormatter())
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("dockyard").setLevel(level)
    for directory in config_dirs:
        path = os.path.join(directory, "logging.json")
        if directory and os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                logging.config.dictConfig(json.load(fh))
            logging.getLogger("dockyard.server").info("Loaded logging config from %s", path)
            return path
    return None


def walk_path(path: str, depth: int = 0, indent: int = 4) -> Iterator[str]:
    """Yield an indented listing of ``path`` (folders end with a separator), sorted by name."""
    path = os.path.normpath(path)
    name = os.path.basename(path.rstrip(os.sep)) or path
    pad = " " * depth * indent
    if os.path.isdir(path):
        yield f"{pad}{name}{os.sep}"
        try:
            children = sorted(os.listdir(path))
        except OSError as exc:
            yield f"{pad}{' ' * indent}<cannot list: {exc}>"
            return
        for child in children:
            yield from walk_path(os.path.join(path, child), depth + 1, indent)
    else:
        yield f"{pad}{name}"


def log_directory(logger: logging.Logger, title: str, path: str | None) -> None:
    """Log ``title`` and a listing of ``path`` (at most 200 lines), or say why there is none."""
    if not path:
        logger.info("%s: not set (AZUREML_MODEL_DIR / --model-dir)", title)
        return
    if not os.path.exists(path):
        logger.info("%s: %s does not exist", title, path)
        return
    logger.info("%s:", title)
    tree = walk_path(path)
    for index, line in enumerate(tree):
        if index >= FILE_TREE_LOG_LINE_LIMIT:
            logger.info("Output Truncated. First %d lines shown.", FILE_TREE_LOG_LINE_LIMIT)
            break
        logger.info(line)
