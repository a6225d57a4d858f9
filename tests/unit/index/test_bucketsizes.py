"""A new day index's id buckets: chosen once from the busiest day's lines, kept in data_dir."""

from __future__ import annotations

from alco.index import buckets
from alco.index.bucketsizes import STATE_FILE, BucketSizes
from alco.index.schema import Common

DAYS = ["logs_20261205", "logs_20261206", "logs_20261207", "logs_20261208"]


def test_a_new_day_gets_buckets_for_the_busiest_day_and_keeps_them(tmp_path):
    asked: list[list[str]] = []

    def count(names: list[str]) -> int:
        asked.append(names)
        return 12_500_000

    made = {"logs_20261205", "logs_20261206", "logs_20261207"}
    got = BucketSizes(tmp_path).of("logs", DAYS, made.__contains__, count)
    # days made before: 65,536 (their schema says what they have); the new one by the lines
    assert got == {"logs_20261205": 16, "logs_20261206": 16, "logs_20261207": 16,
                   "logs_20261208": 20}
    assert asked == [sorted(made)]
    # the next rotation, or a restart: the same, with no count, even if the lines grew
    again = BucketSizes(tmp_path)
    made.add("logs_20261208")
    assert again.of("logs", DAYS, made.__contains__, lambda names: 10**9) == got
    # a new day the next midnight: the busiest day now; the expired day is forgotten
    days = [*DAYS[1:], "logs_20261209"]
    assert again.of("logs", days, made.__contains__, lambda names: 10**8)[
        "logs_20261209"] == 22
    assert "logs_20261205" not in (tmp_path / STATE_FILE).read_text()


def test_without_searchd_the_last_count_decides_else_the_default(tmp_path):
    sizes = BucketSizes(tmp_path)
    assert sizes.of("logs", DAYS[:1], lambda n: False, lambda names: None) == {
        "logs_20261205": buckets.BITS}
    sizes.of("logs", DAYS[:2], lambda n: n == DAYS[0], lambda names: 20_000_000)
    later = BucketSizes(tmp_path)
    assert later.of("logs", DAYS[:3], lambda n: n in DAYS[:2], lambda names: None)[
        DAYS[2]] == 20
    # another index's days are its own (a name that begins like it too)
    assert later.of("logs_x", ["logs_x_20261207"], lambda n: False,
                    lambda names: None) == {"logs_x_20261207": buckets.BITS}
    assert DAYS[2] in BucketSizes(tmp_path).days


def test_a_broken_state_file_is_no_failure(tmp_path):
    (tmp_path / STATE_FILE).write_text("{not json")
    assert BucketSizes(tmp_path).of("logs", DAYS[:1], lambda n: False,
                                    lambda names: 5_000_000) == {DAYS[0]: 18}


def test_a_new_day_gets_the_value_hashes_of_the_columns_seen_and_keeps_them(tmp_path):
    filtered = ("host", "level", "levelname", "logger")
    made = {"logs_20261205", "logs_20261206"}
    asked = []

    def seen() -> set[str]:
        asked.append(1)
        return {"host", "levelname", "logger", "message", "request_id"}

    got = BucketSizes(tmp_path).hashed_of("logs", DAYS, made.__contains__, filtered, seen)
    # days made before: every hash (their schema says what they have); new days: those seen
    assert got == {"logs_20261205": filtered, "logs_20261206": filtered,
                   "logs_20261207": ("host", "levelname", "logger"),
                   "logs_20261208": ("host", "levelname", "logger")}
    assert asked == [1]
    # the next rotation, or a restart, decides nothing again (the catalog may have grown)
    again = BucketSizes(tmp_path).hashed_of("logs", DAYS, lambda d: True, filtered,
                                            lambda: {"level"})
    assert again == got
    # without the catalog (Redis away) or with nothing in it yet: every hash
    for n, nothing in enumerate((None, set())):
        (tmp_path / str(n)).mkdir()
        fresh = BucketSizes(tmp_path / str(n)).hashed_of(
            "logs", DAYS, made.__contains__, filtered, lambda nothing=nothing: nothing)
        assert fresh["logs_20261208"] == filtered


def test_days_made_before_are_looked_at_once(tmp_path):
    """(a day made before the decisions were kept gets every hash, and is kept so: the next
    rotation, every minute, looks at no file)"""
    looked: list[str] = []

    def made(day: str) -> bool:
        looked.append(day)
        return True

    filtered = ("host", "level")
    for _ in range(2):
        got = BucketSizes(tmp_path).hashed_of("logs", DAYS, made, filtered, lambda: {"host"})
        assert got == {d: filtered for d in DAYS}
    assert looked == DAYS


def test_a_new_day_gets_the_common_values_decided_then_and_keeps_them(tmp_path):
    made = {"logs_20261205", "logs_20261206"}
    info, web = Common.of("levelname", "INFO"), Common.of("host", "web-1")
    hashed = {d: ("host", "levelname") for d in DAYS}
    hashed["logs_20261208"] = ("levelname",)  # (a day without the host's hash: none of it)
    asked = []

    def decide() -> list[Common]:
        asked.append(1)
        return [info, web]

    got = BucketSizes(tmp_path).common_of("logs", DAYS, made.__contains__, hashed, decide)
    assert got == {"logs_20261205": (), "logs_20261206": (),
                   "logs_20261207": (info.field, web.field), "logs_20261208": (info.field,)}
    assert asked == [1]
    again = BucketSizes(tmp_path).common_of("logs", DAYS, lambda d: True, hashed, decide)
    assert again == got and asked == [1]
    # searchd cannot say: a new day gets the common values of the index's day decided last
    later = [*DAYS[1:], "logs_20261209"]
    got = BucketSizes(tmp_path).common_of("logs", later, made.__contains__, hashed,
                                          lambda: None)
    assert got["logs_20261209"] == ()  # (no hashes named for it: none)
    hashed["logs_20261209"] = ("host", "levelname")
    (tmp_path / "b").mkdir()
    sizes = BucketSizes(tmp_path / "b")
    sizes.common_of("logs", DAYS, made.__contains__, hashed, decide)
    got = sizes.common_of("logs", later, made.__contains__, hashed, lambda: None)
    assert got["logs_20261209"] == (info.field,)  # (those of logs_20261208)
