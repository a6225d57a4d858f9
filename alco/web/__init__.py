"""The web app: search API, the reading page and /metrics."""
