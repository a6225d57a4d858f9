"""``alco check`` against the real servers, and with a wrong port."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ENV_PASSTHROUGH
from tests.helpers import free_port

pytestmark = pytest.mark.integration


def check(stack) -> subprocess.CompletedProcess:
    stack.write()
    return subprocess.run([sys.executable, "-m", "alco", "--config", str(stack.config_path),
                           "check"], env=ENV_PASSTHROUGH, capture_output=True, text=True,
                          timeout=60)


def test_everything_answers(stack):
    stack.index()
    stack.start_searchd()
    done = check(stack)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines[:4]] == [
        "ok      RabbitMQ", "ok      exchange", "ok      Redis", "ok      searchd"]
    assert f"answers at 127.0.0.1:{stack.data['sphinx']['port']}" in lines[3]
    assert "does not exist yet; ALCO will declare it topic, non-durable" in lines[1]
    assert "logcollect:" in done.stdout and "durable=False)   (its default)" in done.stdout


def test_the_exchange_as_it_is_and_what_shippers_must_be_told(stack):
    import pika

    stack.index()
    stack.start_searchd()
    conn = pika.BlockingConnection(pika.URLParameters(stack.data["rabbitmq"]["url"]))
    conn.channel().exchange_declare(stack.exchange, exchange_type="topic", durable=True)
    conn.close()
    done = check(stack)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok      exchange: {stack.exchange!r} is topic, durable (declared by another" \
        in done.stdout
    assert f"default_config(broker_uri, exchange={stack.exchange!r}, durable=True)" \
        in done.stdout
    assert "exchange_type='topic', durable=True)" in done.stdout


def test_a_wrong_port_fails_with_a_hint(stack):
    stack.index()
    stack.start_searchd()
    stack.data["redis"]["url"] = f"redis://127.0.0.1:{free_port()}/0"
    stack.data["sphinx"]["port"] = free_port()
    done = check(stack)
    assert done.returncode == 1
    out = done.stdout
    assert "ok      RabbitMQ" in out
    assert "FAILED  Redis" in out and "redis-server" in out and "[redis] url" in out
    assert "FAILED  searchd" in out and "alco sphinx-conf" in out
    stack.data["rabbitmq"]["url"] = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    done = check(stack)
    assert done.returncode == 1 and "FAILED  RabbitMQ" in done.stdout
    assert "rabbitmq-server" in done.stdout


def test_a_refused_login_and_an_unreadable_url_say_what_to_fix(stack):
    """Not "no answer ... start it": the broker answered and refused; the URL is wrong."""
    stack.index()
    stack.data["rabbitmq"]["url"] = "amqp://guest:wrong@127.0.0.1:5672/%2F"
    stack.data["redis"]["url"] = "http://127.0.0.1:6379/0"
    out = check(stack).stdout
    assert "FAILED  RabbitMQ: RabbitMQ at 127.0.0.1:5672 refused the login of user 'guest' " \
        "-> fix the user and password in [rabbitmq] url" in out
    assert "FAILED  Redis: cannot read [redis] url 'http://127.0.0.1:6379/0'" in out
    assert "-> fix [redis] url (redis://" in out
    assert "rabbitmq-server" not in out and "redis-server" not in out
    stack.data["rabbitmq"]["url"] = "amqp://guest:guest@127.0.0.1:5672/no-such-vhost"
    assert "refused access to vhost 'no-such-vhost' -> fix the vhost" in check(stack).stdout
