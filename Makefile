# The two commands: `make run` starts ALCO, `make test` runs every test.
.PHONY: run test lint bench-quick screenshots

run:
	@scripts/bootstrap.sh run
	.venv/bin/alco run

test:
	@scripts/bootstrap.sh test
	.venv/bin/ruff check .
	.venv/bin/pytest -q -p no:cacheprovider

lint:
	.venv/bin/ruff check .

bench-quick:
	@scripts/bootstrap.sh test
	.venv/bin/python bench/ingest.py --quick
	.venv/bin/python bench/search.py --quick

# docs/img/page-*.png for docs/page.md, from a real run (a stack of its own, headless Chromium)
screenshots:
	@scripts/bootstrap.sh test
	.venv/bin/python scripts/screenshots.py
