"""Searching: the query language, its compilation to SphinxQL, and the reader of windows."""
