"""The collector: consumers, writers and their supervisor."""
