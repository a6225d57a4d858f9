"""ALCO: an online grep and less for the logs of a distributed system."""

__version__ = "0.1.0"
