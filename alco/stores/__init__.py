"""Redis: field values, seen columns, the newest line of each index, saved searches."""
