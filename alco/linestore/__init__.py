"""The line store: the text and fields of every line, compressed, beside Sphinx.

Sphinx finds lines (full-text fields, tag and time tokens, the attributes reads filter on);
this package keeps them: one SQLite file per ALCO index and day
(``<data_dir>/<index>_<YYYYMMDD>.lines/``, named like the day index, so retention drops both
as one day), holding zstd blocks of lines
in id order (alco.linestore.blocks) compressed with a dictionary trained on the writer's own
lines (alco.linestore.training).  Writers put a batch here, durably, before Sphinx sees it
(alco.index.daystore); readers fetch a page's lines by id (alco.linestore.reading).
"""
