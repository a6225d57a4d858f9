"""The ``alco`` command line: the parser, the server commands and the entry point.

Every command is a subparser whose ``handler(args, config) -> exit status`` is set with
``set_defaults``; the server commands are registered here, the client and maintenance commands
by their own modules (``grep``, ``send``, ``admin``), each through ``register(sub)``. Server
modules are imported inside the handlers, so ``pip install alco`` (without the ``server``
extra) still runs ``alco send``, ``alco grep`` and ``alco --help``.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

from alco import __version__
from alco.cli import admin, grep, send
from alco.config import Config, ConfigError, load
from alco.index import ids

log = logging.getLogger("alco")
# Top-level modules of the packages that the `server` extra installs.
SERVER_MODULES = frozenset({"redis", "hiredis", "MySQLdb", "starlette", "uvicorn",
                            "prometheus_client", "setproctitle"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alco",
        description="ALCO: collect the logs of a distributed system and grep/less them online.",
        epilog="Configuration: alco.toml in the current directory, --config FILE or $ALCO_CONFIG;"
               " any key can be overridden with ALCO_<SECTION>_<KEY>. See README.md.",
    )
    parser.add_argument("--version", action="version", version=f"alco {__version__}")
    parser.add_argument("-c", "--config", help="TOML configuration file")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"], help="default: info")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_server_commands(sub)
    grep.register(sub)
    send.register(sub)
    admin.register(sub)
    return parser


def register_server_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run everything: managed searchd, collector and web app",
                       description="Start a managed searchd (unless [sphinx] managed = false), "
                       "the collector and the web app; stop them all on SIGTERM or Ctrl-C.")
    p.add_argument("--no-web", action="store_true", help="do not start the web app")
    p.add_argument("--no-collector", action="store_true", help="do not start the collector")
    p.set_defaults(handler=run)
    p = sub.add_parser("collect", help="run the collector (consumers and writers of every index)",
                       description="Consume log records from RabbitMQ and store them in Sphinx. "
                       "SIGTERM drains in-flight batches, acks them and exits 0.")
    p.add_argument("--keep-metrics", action="store_true",
                   help="keep the metrics directory as it is (alco run: counts survive a "
                        "restart of the collector)")
    p.set_defaults(handler=collect)
    p = sub.add_parser("web", help="run the web app (search API, reading page, /metrics)")
    p.set_defaults(handler=web)
    p = sub.add_parser("searchd", help="run only the managed searchd in the foreground")
    p.set_defaults(handler=searchd)
    p = sub.add_parser("sphinx-conf", help="print the searchd config for the configured indexes")
    p.add_argument("--date", help="generate for this day (YYYY-MM-DD) instead of today (UTC)")
    p.set_defaults(handler=sphinx_conf)
    p = sub.add_parser("check", help="tell whether RabbitMQ, Redis and searchd answer")
    p.set_defaults(handler=check)


def require_server_extra() -> None:
    """Raise ModuleNotFoundError (which main() reports) when the ``server`` extra is missing."""
    for name in sorted(SERVER_MODULES):
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
    )
    logging.getLogger("pika").setLevel(logging.ERROR)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"alco: configuration error: {exc}", file=sys.stderr)
        return 2
    # (the deployment's id map: every process)
    ids.set_forms(config.sphinx.dense_from, config.sphinx.narrow_forms)
    try:
        status = args.handler(args, config)
        sys.stdout.flush()
        return status
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in SERVER_MODULES:
            raise
        print(f"alco {args.command} needs the server extra: pip install 'alco[server]' "
              f"(missing module {exc.name!r})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `alco check | head`: the reader left; stop quietly, like grep
        return _quiet_stdout(1)


def _quiet_stdout(status: int) -> int:
    """Point stdout at /dev/null (its buffer cannot be flushed into a closed pipe at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return status


def sphinx_conf(args: argparse.Namespace, config: Config) -> int:
    require_server_extra()
    from datetime import date

    from alco.index import sphinxconf
    from alco.index.searchd import today_utc

    day = date.fromisoformat(args.date) if args.date else today_utc()
    sys.stdout.write(sphinxconf.render(config, day))
    return 0


def collect(args: argparse.Namespace, config: Config) -> int:
    require_server_extra()
    metrics_dir = os.path.abspath(config.collector.metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before prometheus_client loads
    from alco import metrics

    if args.keep_metrics:
        os.makedirs(metrics_dir, exist_ok=True)
    else:
        metrics.prepare_multiprocess_dir(metrics_dir)
    from alco.ingest import collector

    supervisor = collector.build(config)
    from alco.catalog.installs import shared_prefix

    if shared := shared_prefix(config.redis.url, config.redis.prefix, config.sphinx.data_dir):
        log.warning(shared)
    metrics.serve_collector_metrics(config.collector.metrics_bind)
    log.info("collector metrics on http://%s/metrics", config.collector.metrics_bind)
    return supervisor.run()


def web(args: argparse.Namespace, config: Config) -> int:
    require_server_extra()
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import uvicorn

    from alco.process.gctune import tune_for_reads
    from alco.web import audit
    from alco.web.app import create_app

    if config.web.host not in ("127.0.0.1", "localhost", "::1") and not (
            config.web.tokens or config.web.basic_auth):
        log.warning("the web app listens on %s without authentication; set [web] tokens",
                    config.web.bind)
    if config.web.audit_routing_prefix:  # the audit trail into ALCO itself too
        from alco.clients.handler import AMQPHandler

        audit.ship_to(AMQPHandler(config.rabbitmq.url, config.rabbitmq.exchange,
                                  config.web.audit_routing_prefix, application="alco.audit"))
    tls = {"ssl_certfile": config.web.tls_cert, "ssl_keyfile": config.web.tls_key} \
        if config.web.tls else {}  # uvicorn's own TLS ([web] tls_cert, tls_key)
    app = create_app(config)
    tune_for_reads()
    uvicorn.run(app, host=config.web.host, port=config.web.port,
                log_level=args.log_level, access_log=args.log_level == "debug", **tls)
    return 0


def searchd(args: argparse.Namespace, config: Config) -> int:
    require_server_extra()
    from alco.cli.run import run_all

    return run_all(args, config, collector=False, web=False)


def run(args: argparse.Namespace, config: Config) -> int:
    require_server_extra()
    from alco.cli.run import run_all

    return run_all(args, config, collector=not args.no_collector, web=not args.no_web)


def check(args: argparse.Namespace, config: Config) -> int:
    require_server_extra()
    from alco.cli.check import run_checks

    return run_checks(config)


if __name__ == "__main__":
    sys.exit(main())
