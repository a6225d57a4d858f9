"""alco grep's arguments with grep's habits: options anywhere, negated terms as words."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from alco.cli.grep import grep_mode, register


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["grep", *argv])


def test_options_go_anywhere_among_the_words() -> None:
    args = parse("logs", "src:x", "--tracebacks", "exploded", "-m", "1")
    assert args.words == ["logs", "src:x", "exploded"]
    assert args.tracebacks and args.max_count == 1


@pytest.mark.parametrize("term", ["-host:web3", "-timeout", "-healthcheck", "-error", "-5",
                                  "-Ci", "-"])
def test_a_dash_that_is_no_option_is_a_negated_term(term: str) -> None:
    args = parse("logs", "timeout", term, "--since", "1h")
    assert args.words == ["logs", "timeout", term]
    assert args.since == "1h" and not args.patterns and args.context == 0


def test_clusters_and_joined_numbers_are_options() -> None:
    args = parse("-C3", "logs", "-iw", "timeout", "-vcm2")
    assert (args.context, args.ignore_case, args.word, args.invert, args.count) == \
        (3, True, True, True, True)
    assert args.max_count == 2 and args.words == ["logs", "timeout"]


def test_an_option_takes_the_next_argument_even_with_a_dash() -> None:
    args = parse("logs", "-e", "-foo", "-ie", "", "--since", "-1h", "--fields=time,message")
    assert args.patterns == ["-foo", ""] and args.ignore_case
    assert args.since == "-1h" and args.fields == "time,message" and args.words == ["logs"]


def test_after_a_double_dash_everything_is_a_word() -> None:
    assert parse("-C", "2", "--", "logs", "-c", "--since").words == ["logs", "-c", "--since"]
    assert parse("--trace", "logs").tracebacks  # a long option's abbreviation, as argparse


def test_a_misspelt_long_option_is_still_an_error(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        parse("logs", "--folow")
    assert info.value.code == 2
    assert "--folow" in capsys.readouterr().err


def test_the_regex_examples_of_the_docs_are_in_grep_mode() -> None:
    """A basic regex (``\\(a\\|b\\)``) in docs/grep.md is given with a grep flag: without
    one the words are the query language, where it finds nothing."""
    docs = Path(__file__).parents[3] / "docs" / "grep.md"
    examples = [shlex.split(line, comments=True)[2:] for line in docs.read_text().splitlines()
                if line.startswith("alco grep ")]
    regex = [argv for argv in examples if any("\\(" in a or "\\|" in a for a in argv)]
    assert regex
    for argv in regex:
        assert grep_mode(parse(*argv)), argv
