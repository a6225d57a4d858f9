"""The command line reads like a well-kept CLI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from alco.cli.main import build_parser, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alco", *args], capture_output=True,
                          text=True, timeout=60)


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    for name in ("run", "collect", "web", "sphinx-conf", "check"):
        assert name in out.stdout


@pytest.mark.parametrize("command", ["run", "collect", "web", "sphinx-conf", "check"])
def test_each_command_has_help(command: str):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0


def test_configuration_error_exits_2_with_the_key(tmp_path, capsys):
    bad = tmp_path / "alco.toml"
    bad.write_text("[web]\nbind = 5\n")
    assert main(["--config", str(bad), "sphinx-conf"]) == 2
    assert "web.bind" in capsys.readouterr().err


def test_sphinx_conf_prints_today_and_tomorrow(tmp_path):
    conf = tmp_path / "alco.toml"
    conf.write_text('[[index]]\nname = "shop"\nretention_days = 1\n')
    out = run("--config", str(conf), "sphinx-conf", "--date", "2026-11-24")
    assert out.returncode == 0, out.stderr
    assert "index shop_20261124" in out.stdout
    assert "index shop_20261125" in out.stdout
    assert "index shop_20261123" not in out.stdout
    assert "workers = threads" in out.stdout



def test_a_server_command_without_the_server_extra_exits_2(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    monkeypatch.chdir(tmp_path)
    assert main(["web"]) == 2
    err = capsys.readouterr().err
    assert "alco web needs the server extra: pip install 'alco[server]'" in err
    assert "uvicorn" in err


def test_a_missing_module_outside_the_server_extra_is_not_hidden(tmp_path, monkeypatch):
    def broken(config):
        raise ModuleNotFoundError("No module named 'alco_elsewhere'", name="alco_elsewhere")

    monkeypatch.setattr("alco.cli.check.run_checks", broken)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleNotFoundError):
        main(["check"])


def test_a_closed_pipe_ends_a_command_quietly(tmp_path):
    """`alco check | head -4`: the reader is gone before the output; no traceback."""
    conf = tmp_path / "alco.toml"
    conf.write_text('[[index]]\nname = "shop"\nretention_days = 30\n')
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        out = subprocess.run([sys.executable, "-m", "alco", "--config", str(conf),
                              "sphinx-conf"], stdout=write_end, stderr=subprocess.PIPE,
                             text=True, timeout=60)
    finally:
        os.close(write_end)
    assert out.stderr == ""
    assert out.returncode == 1


def test_the_web_app_serves_with_the_collector_tuned_for_reads(tmp_path, monkeypatch):
    """`alco web` freezes what it made at start and spaces the garbage collector's runs out
    (alco.process.gctune: a page of 1,000 lines makes ~100,000 objects) before it serves."""
    import gc

    import uvicorn

    from alco.process import gctune

    seen = {}

    def run(app, **kwargs):
        seen["threshold"], seen["frozen"] = gc.get_threshold(), gc.get_freeze_count()

    before = gc.get_threshold()
    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alco.toml").write_text('[[index]]\nname = "shop"\nretention_days = 30\n')
    try:
        assert main(["--config", str(tmp_path / "alco.toml"), "web"]) == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert seen["threshold"] == gctune.READS
    assert seen["frozen"] > 0
