"""`alco grep` with grep's flags answers what `/usr/bin/grep` answers on the same messages.

A corpus of log messages (punctuation, IPs, Unicode, a 5000-character line, multi-line Python
tracebacks, tabs) goes through the real pipeline (RabbitMQ, collector, searchd, web app); the
same messages are written to a file, one physical line per line.  Each case runs through
`alco grep` (its command line, in process, against the real web app) and through GNU grep
(``LC_ALL=C.UTF-8``), and the selected records must be the same: a record matches when grep
matches any of its lines; with ``-v`` it is selected when none of its lines match (the query
language's negation, docs/search.md).  This test is the guarantee docs/grep.md points to.
"""

from __future__ import annotations

import datetime
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from alco.cli.grep import RESET, TERM_COLORS
from alco.cli.main import main
from alco.clients.api import Api, newest, pages
from tests.helpers import BASE_TIME, publish, stored_count, wait_for
from tests.integration.test_grep import start_web, wait_queues

pytestmark = pytest.mark.integration
GREP = "/usr/bin/grep"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/shop/views.py", line {n}, in pay\n'
    "    gateway.charge(order)\n"
    '  File "/app/shop/gateway.py", line 88, in charge\n'
    "    raise {exc}('gateway did not answer')\n"
    "{exc}: gateway did not answer"
)

CORPUS = [
    "payment failed for order 1043",
    "Payment accepted: order 1044",
    "repayment scheduled in 3 days",
    "PAYMENT gateway reset",
    "connect to 10.203.4.17:5432 refused",
    "peer 10.203.250.1 timed out after 30s",
    "host 10.2030.1.1 is not that subnet",
    "host 10.20.3.1 neither",
    "customer_id = 4",
    "update customer_id = 42 done",
    "customer_id=4 compact",
    "customer_id  = 4 two spaces",
    "GET /api/orders/123 500 Internal Server Error",
    "GET /api/orders/77 200 OK",
    "POST /api/orders/ 500 no id",
    "orders/9 5000 bytes",
    "ERROR db down",
    "FATAL out of memory",
    "error in lower case",
    "TERRORS of the deep",
    "Timeout waiting for lock",
    "timeout in lower case",
    "TIMEOUT shouting",
    "Timeouts counted: 3",
    "err: bad thing",
    "stderr closed",
    "an err_code 5",
    "(err) in parens",
    "err-3 with a dash",
    "ERR upper case",
    "éerr after a letter",
    "DEBUG cache warm",
    "DEBUG\tcache\tcold",
    "literal a.b*c here",
    "aXbbbc regex only",
    "a.b*c* twice starred",
    "[WARN] (x) {y} |pipe| +plus? $dollar ^caret",
    "it's done, don't worry",
    "path /var/log/app.log rotated",
    "Éléphant rose à Paris",
    "un éléphant dans la pièce",
    "ÉLÉPHANT EN MAJUSCULES",
    "Ошибка соединения с базой",
    "повторная ошибка записи",
    "ОШИБКА ВЕЗДЕ",
    "日本語のログ 東京 サーバー",
    "key\tvalue\tERROR tabbed",
    "x" * 2500 + " needle_long " + "y" * 2487,
    TRACEBACK.format(n=42, exc="TimeoutError"),
    TRACEBACK.format(n=51, exc="ConnectionRefusedError"),
    "first line fine\n\nthird line has FATAL after an empty line",
    "multi\nline without the words",
    "a b c",
    "plain words only",
]

# (alco grep / grep flags, patterns): each pattern goes as -e PATTERN to both
CASES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    ((), ("ayment",)),
    ((), ("10.203.",)),
    (("-F",), ("10.203.",)),
    ((), ("customer_id = 4",)),
    (("-F",), ("customer_id = 4",)),
    (("-E",), ("orders/[0-9]+ 500",)),
    (("-E",), ("ERROR|FATAL",)),
    ((), ("Timeout",)),
    (("-i",), ("Timeout",)),
    (("-w",), ("err",)),
    (("-w", "-i"), ("err",)),
    (("-v",), ("DEBUG",)),
    (("-v", "-i"), ("error",)),
    (("-F",), ("a.b*c",)),
    ((), ("a.b*c",)),
    ((), (r"\(a\|b\)",)),
    ((), (r"\(refused\|Timeout\)",)),
    ((), ("(x) {y} |pipe| +plus?",)),
    (("-E",), (r"\(x\) \{y\} \|pipe\| \+plus\?",)),
    (("-F",), ("$dollar ^caret",)),
    ((), ("^caret",)),
    ((), ("^Timeout",)),
    (("-E",), ("^[A-Za-z]+Error: ",)),
    (("-E",), ("^[[:upper:]]+ ",)),                 # Unicode upper case: É, Ш
    ((), (r"c\*",)), ((), ("*c",)),                  # BRE: a leading * is literal
    (("-E",), ("*caret",)),                          # ERE: GNU repeats nothing
    (("-w",), ("err", "down")),
    (("-E", "-w"), ("err|stderr",)),
    ((), (r"10\.203\.[0-9]\{1,3\}\.",)),
    ((), ("l.phant",)),                              # . is one character, é too
    ((), ("[éÉ]l",)),
    (("-F", "-i"), ("ОШИБКА", "éléphant")),
    ((), ("DEBUG\tcache",)),
    (("-E",), ("answer$",)),
    (("-F",), ("Timeout", "customer_id = 4")),
    ((), ("FATAL", "ayment", r"10\.203\.4")),
    (("-E", "-i"), ("^err", "timeout$")),
    (("-i",), ("éléphant",)),
    ((), ("éléphant",)),
    (("-i",), ("ошибка",)),
    (("-i", "-w"), ("ошибка",)),
    ((), ("東京",)),
    (("-F",), ("it's",)),
    (("-F",), ("/var/log/",)),
    ((), ("/var/log/",)),
    (("-F",), ("value\tERROR",)),
    (("-F",), ("needle_long",)),
    (("-E",), ("x{1000} needle",)),  # RE2 repeats at most 1000 times
    (("-E",), (r"line [0-9]+, in pay",)),
    ((), ("[[:digit:]]\\{4\\}",)),
    (("-E",), ("[[:alpha:]]+ [[:alpha:]]+ à",)),
    (("-E", "-w"), (r"\w+ed",)),
    (("-E",), ("^$",)),
    (("-F", "-v"), ("e",)),
]


def record_time(i: int) -> str:
    return (BASE_TIME + datetime.timedelta(milliseconds=i)).isoformat()


def publish_corpus(stack) -> None:
    bodies = [orjson.dumps({"@timestamp": record_time(i), "message": msg, "host": f"vm{i % 3}"})
              for i, msg in enumerate(CORPUS)]
    publish(stack.data["rabbitmq"]["url"], stack.exchange, bodies, "logstash.shop.views")


def corpus_file(tmp: Path) -> tuple[Path, list[int]]:
    """The messages written one physical line per line, and the record of each line."""
    path, owner = tmp / "corpus.log", []
    with path.open("w", encoding="utf-8") as out:
        for i, msg in enumerate(CORPUS):
            for line in msg.split("\n"):
                out.write(line + "\n")
                owner.append(i)
    return path, owner


def grep_records(path: Path, owner: list[int], flags: tuple[str, ...],
                 patterns: tuple[str, ...]) -> set[int]:
    """The records GNU grep selects: any line matching; with -v, no line matching."""
    plain = tuple(f for f in flags if f != "-v")
    args = [GREP, "-n", *plain, *(a for p in patterns for a in ("-e", p)), str(path)]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert done.returncode in (0, 1), done.stderr
    hit = {owner[int(line.split(":", 1)[0]) - 1] for line in done.stdout.splitlines()}
    return set(range(len(CORPUS))) - hit if "-v" in flags else hit


def alco_grep(stack, capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["--config", str(stack.config_path), "grep", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def alco_records(stack, capsys, flags: tuple[str, ...], patterns: tuple[str, ...],
                 since: str | None = None) -> tuple[set[int] | str, int | str]:
    """The records `alco grep --json` selects and what `alco grep -c` counts (or the error)."""
    pattern_args = [a for p in patterns for a in ("-e", p)]
    if since:
        pattern_args += ["--since", since]
    rc, out, err = alco_grep(stack, capsys, "--json", *flags, *pattern_args, "logs")
    if rc == 2:
        return f"error: {err.strip()}", "-"
    got = {CORPUS.index(json.loads(line)["message"]) for line in out.splitlines()}
    assert rc == (0 if got else 1), (flags, patterns, rc)
    rc, out, err = alco_grep(stack, capsys, "-c", *flags, *pattern_args, "logs")
    return got, int(out) if rc != 2 else f"error: {err.strip()}"


def describe(records: set[int]) -> list[str]:
    return [CORPUS[i][:60] for i in sorted(records)]


def start_corpus(stack, time_budget: float | None = None) -> None:
    """Searchd, collector and web app of the stack, with the corpus stored."""
    assert len(set(CORPUS)) == len(CORPUS)  # a message names its record
    if time_budget is not None:
        stack.data["web"]["time_budget"] = time_budget
    stack.index()
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    publish_corpus(stack)
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") >= len(CORPUS), message="corpus stored")
    start_web(stack)


@pytest.mark.parametrize("time_budget", [None, 0.001], ids=["budget-default", "budget-1ms"])
def test_alco_grep_selects_what_grep_selects(stack, capsys, tmp_path,
                                             time_budget: float | None) -> None:
    """With a budget of 1 ms the server answers partial pages (often empty) with a cursor:
    alco grep must follow them to the same answer (``--since`` keeps that scan short)."""
    start_corpus(stack, time_budget)
    since = "15m" if time_budget else None
    path, owner = corpus_file(tmp_path)

    # (with 1 ms, every other case: each follows dozens of partial pages)
    cases = CASES if time_budget is None else CASES[::2]
    mismatches, selecting = [], 0
    for flags, patterns in cases:
        expected = grep_records(path, owner, flags, patterns)
        selecting += 0 < len(expected) < len(CORPUS)
        got, counted = alco_records(stack, capsys, flags, patterns, since)
        if got != expected or counted != len(expected):
            extra = describe(got - expected) if isinstance(got, set) else got
            missing = describe(expected - got) if isinstance(got, set) else []
            mismatches.append(f"{' '.join(flags)} {patterns!r}: alco grep selected "
                              f"{len(got) if isinstance(got, set) else got}, -c {counted}, "
                              f"grep {len(expected)}; extra {extra}; missing {missing}")
    assert not mismatches, "\n".join(mismatches)
    assert selecting >= len(cases) - 3  # the cases tell records apart (not all or nothing)
    if time_budget:  # the server did answer partial pages
        seen: list[dict] = []
        api = Api("http://" + stack.data["web"]["bind"])
        params = {"q": "/^[A-Za-z]+Error: /", "from": since}
        # (whether a page is partial depends on how fast searchd answers the first query;
        # test_patterns.py makes sure of partial pages with a corpus that needs several)
        assert len(list(pages(api, "logs", params, None, progress=seen.append))) == 2
        newest_two = newest(api, "logs", params, 10, seen.append)  # -f: back from the newest
        assert [line["message"].splitlines()[-1].split(":")[0] for line in newest_two] == [
            "TimeoutError", "ConnectionRefusedError"]
        progress_on_a_terminal(stack, since)


def progress_on_a_terminal(stack, since: str) -> None:
    """stderr a terminal: progress overwritten in place, cleared at the end; stdout clean.
    (``[[:alpha:]]`` becomes ``\\pL``, which the index cannot narrow: a scan of several windows,
    so that a 1 ms budget surely stops a read partway.)"""
    main_fd, tty_fd = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # a full pty would block the writer; ends at EOF/EIO
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run(
        [sys.executable, "-m", "alco", "--config", str(stack.config_path), "grep", "-E",
         "--fields", "id", "--since", since, "logs", "^[[:alpha:]]+Error: "],
        stdout=subprocess.PIPE, stderr=tty_fd, timeout=120, check=False,
        env={**os.environ, "TERM": "xterm"})
    os.close(tty_fd)
    reader.join(10)
    os.close(main_fd)
    err = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert len(proc.stdout.decode().split()) == 2 and b"\x1b" not in proc.stdout
    assert "\r\x1b[Kalco grep: searched up to " in err and err.endswith("\r\x1b[K")


def test_first_word_is_the_pattern_and_other_words_are_terms(stack, capsys) -> None:
    start_corpus(stack)

    def messages(*args: str) -> list[str]:
        rc, out, err = alco_grep(stack, capsys, "--json", *args)
        assert rc in (0, 1), err
        return [json.loads(line)["message"] for line in out.splitlines()]

    assert messages("-i", "logs", "timeout") == messages("-i", "-e", "timeout", "logs")
    assert messages("-i", "logs", "timeout", "host:vm1") == [
        m for i, m in enumerate(CORPUS) if "timeout" in m.lower() and i % 3 == 1]
    assert messages("-F", "-e", "ERROR", "-e", "FATAL", "logs", "db") == ["ERROR db down"]
    assert messages("-v", "-e", "") == []
    rc, out, _ = alco_grep(stack, capsys, "-c", "-v", "-e", "")
    assert (rc, out) == (1, "0\n")
    rc, _, err = alco_grep(stack, capsys, "-G", "-e", r"\(a\)\1", "logs")
    assert rc == 2 and "back-references" in err
    rc, _, err = alco_grep(stack, capsys, "-E", "-e", "a(b", "logs")
    assert rc == 2 and "server said 400" in err


def test_each_term_is_coloured_by_its_index(stack, capsys) -> None:
    start_corpus(stack)
    rc, out, _ = alco_grep(stack, capsys, "--color=always", "--fields", "message", "-F",
                           "-e", "ERROR", "logs", "db")
    assert rc == 0
    assert out == f"{TERM_COLORS[0]}ERROR{RESET} {TERM_COLORS[1]}db{RESET} down\n"

