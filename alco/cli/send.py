"""``alco send``: publish lines from stdin or files (optionally followed like ``tail -F``).

The publishing itself is :func:`alco.clients.lines.send_lines`; this module is the command
line around it: where the lines come from, which routing key they get, progress on stderr,
exit status (0 sent, 1 the broker failed, 2 bad input) and an orderly stop on Ctrl-C or SIGTERM
(what was read is confirmed, then the count is printed; a second one interrupts at once).
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Iterator
from typing import IO

from alco.clients.lines import SendError, follow_files, read_stream, send_lines
from alco.clients.publisher import queue_exists
from alco.config import Config, IndexConfig
from alco.process.signals import StopRequest, stop_on_signals

PROGRESS_S = 3.0


def topic_matches(pattern: str, key: str) -> bool:
    """Whether a topic-exchange binding ``pattern`` (``*`` one word, ``#`` any) matches."""
    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


def routing_key_for(index: str | None, known: IndexConfig | None) -> str:
    """``logstash.<index>`` (``logstash.send`` without one); when the index is configured here
    and its bindings do not take that key, a key made from its first binding instead."""
    key = f"logstash.{index or 'send'}"
    if known is None or any(topic_matches(p, key) for p in known.routing_keys):
        return key
    for pattern in known.routing_keys:
        candidate = ".".join(w if w not in ("*", "#") else known.name for w in pattern.split("."))
        if any(topic_matches(p, candidate) for p in known.routing_keys):
            return candidate
    return key


def stdin_or_files(paths: list[str]) -> Iterator[bytes]:
    if not paths:
        yield from read_stream(sys.stdin.buffer)
        return
    for path in paths:
        if path == "-":
            yield from read_stream(sys.stdin.buffer)
        else:
            with open(path, "rb") as fh:
                yield from read_stream(fh)


def until_stopped(stop: StopRequest, lines: Iterator[bytes]) -> Iterator[bytes]:
    """``lines`` until a stop is requested (the lines read before are still sent)."""
    for line in lines:
        if stop.is_set():
            return
        yield line


class Progress:
    """Counts on stderr every few seconds (only once the input is long enough to matter)."""

    def __init__(self, stream: IO[str], quiet: bool) -> None:
        self.stream, self.quiet = stream, quiet
        self.start = self.last = time.monotonic()

    def __call__(self, confirmed: int) -> None:
        now = time.monotonic()
        if not self.quiet and now - self.last >= PROGRESS_S:
            self.last = now
            rate = confirmed / max(now - self.start, 1e-9)
            print(f"alco send: {lines(confirmed)} sent ({rate:.0f}/s)", file=self.stream,
                  flush=True)


def run(args: argparse.Namespace, config: Config) -> int:
    if args.follow and not args.files:
        print("alco send: -F/--follow needs FILE arguments", file=sys.stderr)
        return 2
    missing = [p for p in args.files if p != "-" and not args.follow and not _readable(p)]
    if missing:
        print(f"alco send: cannot read {', '.join(missing)}", file=sys.stderr)
        return 2
    known = next((ix for ix in config.indexes if ix.name == args.index), None)
    unknown = args.index and known is None and unknown_index(args.index, config, args.url)
    if unknown:
        print(f"alco send: {unknown}; to publish with any routing key, use --routing-key",
              file=sys.stderr)
        return 2
    key = args.routing_key or routing_key_for(args.index, known)
    exchange = args.exchange or config.rabbitmq.exchange
    source = follow_files(args.files, from_start=args.from_start) if args.follow \
        else stdin_or_files(args.files)
    # The first SIGINT/SIGTERM ends the input; a second one raises KeyboardInterrupt.
    with stop_on_signals() as stop:
        try:
            sent = send_lines(until_stopped(stop, source), url=args.url or config.rabbitmq.url,
                              exchange=exchange, routing_key=key, host=args.host,
                              on_progress=Progress(sys.stderr, args.quiet),
                              exchange_durable=config.rabbitmq.exchange_durable)
        except SendError as exc:
            print(f"alco send: {exc} ({lines(exc.confirmed)} sent, "
                  f"{len(exc.unconfirmed)} may not have been)", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"alco send: {exc}", file=sys.stderr)
            return 2
    if not args.quiet:
        print(f"alco send: {lines(sent)} sent to exchange {exchange!r} with routing key {key!r}",
              file=sys.stderr)
    return 0


def unknown_index(index: str, config: Config, url: str | None) -> str | None:
    """Why ``--index`` names no index (a config file that lacks it; without one, a broker
    without its queue ``alco.<index>``), or None when it may be one."""
    names = ", ".join(ix.name for ix in config.indexes)
    if config.source != "<defaults>":
        return f"{config.source} has no index {index!r} (its indexes: {names})"
    queue = IndexConfig(name=index).queue_name
    if queue_exists(url or config.rabbitmq.url, queue) is False:
        return (f"no index {index!r}: no config file names it (the defaults have {names}) "
                f"and RabbitMQ has no queue {queue!r}")
    return None


def lines(n: int) -> str:
    """``1 line``, ``2 lines``."""
    return f"{n} line" if n == 1 else f"{n} lines"


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


EXAMPLES = """examples:
  tail -F /var/log/app.log | alco send --index shop
  alco send -F /var/log/nginx/access.log /var/log/nginx/error.log --routing-key logstash.nginx
  alco send old.log.1 old.log          send whole files (JSON lines pass through unchanged)
A line holding a JSON object is published as is; any other line becomes
{"@timestamp", "message", "host", "type": "alco-send", ...}. Blank lines are skipped."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "send", help="publish lines from stdin or files (tail -F) as log records",
        description="Publish every line of stdin or FILEs to the RabbitMQ exchange as one "
        "record, with publisher confirms: when this exits 0, the broker has every line. "
        "Exit status: 0 sent, 1 the broker failed, 2 bad arguments or unreadable input.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="files to send (default: stdin)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--index", metavar="NAME",
                        help="routing key logstash.NAME (default: logstash.send); note that "
                             "an index bound to logstash.# (the default) gets every key")
    target.add_argument("--routing-key", metavar="KEY", help="publish with this routing key")
    p.add_argument("--exchange", help="exchange (default: [rabbitmq] exchange)")
    p.add_argument("--url", metavar="AMQP_URL", help="broker (default: [rabbitmq] url)")
    p.add_argument("--host", default=socket.gethostname(),
                   help="host field of wrapped plain-text lines (default: this machine)")
    p.add_argument("-F", "--follow", action="store_true",
                   help="follow the FILEs like tail -F (rotation, truncation) until Ctrl-C")
    p.add_argument("--from-start", action="store_true",
                   help="with -F: send what the files hold already, then follow")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or final count")
    p.set_defaults(handler=run)

