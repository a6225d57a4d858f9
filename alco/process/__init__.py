"""Processes: supervisor, child lifetime, signals, backoff (nothing about RabbitMQ or Sphinx)."""
