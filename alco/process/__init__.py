"""Processes: supervisor, child lifetime, stop flags, signals, backoff.

Standard library only (and setproctitle for the supervisor): nothing about RabbitMQ or Sphinx,
nothing of the rest of ALCO, so that the clients may use it too.
"""
