"""Saved searches: ``/s/<name>/<value>`` and their management API."""

from __future__ import annotations

routes: list = []
