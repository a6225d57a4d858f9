"""A service logging through a real shipper configured as its README says (run as a process).

    python ship.py logcollect|python-logstash AMQP_URL EXCHANGE N

Prints "ready" once its handler is set up and has connected (a first line logged: the shipper
declares the exchange on connect), then reads one line from stdin and logs N lines
"shipped <i>" (INFO, with extra fields) and one exception.
"""

from __future__ import annotations

import logging
import sys


def logcollect_logger(url: str, exchange: str) -> logging.Logger:
    from logcollect.boot import default_config

    default_config(url, exchange=exchange)  # its own durability, routing key and level
    return logging.getLogger("shop.views")


def logstash_logger(url: str, exchange: str) -> logging.Logger:
    import logstash

    logger = logging.getLogger("billing")
    logger.setLevel(logging.INFO)
    logger.addHandler(logstash.AMQPLogstashHandler(
        host="127.0.0.1", version=1, exchange=exchange, exchange_type="topic"))
    return logger


def main() -> None:
    kind, url, exchange, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    logger = (logcollect_logger if kind == "logcollect" else logstash_logger)(url, exchange)
    logger.info("warm-up: connects and declares the exchange")
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        logger.info("shipped %d", i, extra={"seq": i, "order_id": f"o{i}"})
    try:
        raise ZeroDivisionError("division by zero in the shipper")
    except ZeroDivisionError:
        logger.exception("shipped crash")
    logging.shutdown()
    print("done", flush=True)


if __name__ == "__main__":
    main()
