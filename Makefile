# Two entry points, each doing its own set-up on a fresh machine:
#   make demo   -- the whole flow on the embedded default (no account, no API key, no network)
#   make test   -- the test suite (installs Debian's chromium for the browser tests and Java for
#                  the Spark tests when missing)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test venv chromium java bench clean

# The C extension is built by the install: a change to it reinstalls.
$(BIN)/.installed: pyproject.toml collector/storage/_otlp_rows.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

chromium:
	@bash scripts/install-debian.sh chromium "the browser tests" /usr/bin/chromium --version

java:
	@bash scripts/install-debian.sh openjdk-17-jre-headless "the Spark tests" java -version

# DEMO_ARGS, e.g. DEMO_ARGS="--no-serve --data /tmp/demo", are passed to `otel-feedback demo`.
demo: venv
	$(BIN)/otel-feedback demo $(DEMO_ARGS)

# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
test: venv chromium java
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

bench: venv chromium
	$(BIN)/python bench/decorator_overhead.py
	$(BIN)/python bench/openai_overhead.py
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/gzip_members.py
	$(BIN)/python bench/trace_page_long_values.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
