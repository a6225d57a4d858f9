"""Redis: what the indexes hold beside their lines: field values, seen columns, the newest line
of each index, late lines, saved searches (the lines themselves: alco.linestore and searchd)."""
