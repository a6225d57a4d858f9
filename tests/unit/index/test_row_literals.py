"""A REPLACE's rows as literals: a batch's texts escaped in one call are escaped as each
alone (``_literal`` of each value), whatever they hold."""

from __future__ import annotations

import random

from MySQLdb import _mysql

from alco.index.sphinxql import _literal, _row_literals

CHARS = ["a", "é", "'", '"', "\\", "\n", "\r", "\x00", "\x1a", "\x01", "😀", "\udcff", "订",
         " ", "0", "Z", "%"]


class Conn:
    escape_string = staticmethod(_mysql.escape_string)


def one_by_one(row: list) -> bytes:
    return b"(" + b",".join(_literal(Conn, v) for v in row) + b")"


def test_row_literals_are_each_values_literal():
    rng = random.Random(2)
    for _ in range(300):
        chars = CHARS if rng.random() < 0.3 else [c for c in CHARS if c != "\x01"]
        rows = [[rng.getrandbits(62), *("".join(rng.choice(chars) for _ in range(
            rng.randint(0, 9))) for _ in range(3)), -rng.getrandbits(31)]
            for _ in range(rng.randint(1, 20))]
        if rng.random() < 0.2:  # (a value of another type: each row on its own)
            rows[-1][-1] = rng.choice([b"{}", None, True, 1.5])
        assert _row_literals(Conn, rows) == [one_by_one(row) for row in rows]
    assert _row_literals(Conn, []) == []
