"""The public import path of ALCO's logging handler (``alco.handler.AMQPHandler``)."""

from alco.clients.handler import AMQPHandler, boot, celery_setup, django_logging

__all__ = ["AMQPHandler", "boot", "celery_setup", "django_logging"]
