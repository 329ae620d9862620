# Every target sets up .venv from the pinned lock file first; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean bytecode bench-extraction bench-entities bench-topics bench-throughput \
	bench-incremental bench-nearcopies bench-stories bench-stories-uci bench-reread bench-stream bench-warc \
	train-topics

# uv installs the same pinned wheels as pip in about 16 s instead of about 45 (it downloads,
# unpacks and compiles in parallel); if uv cannot be had, pip does it. Both compile the
# bytecode at install: with PYTHONDONTWRITEBYTECODE set, nothing would cache it later, and
# every run would compile its imports again (2.5 s more per run).
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	if $(BIN)/pip install --quiet uv==0.13.8 && \
		$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode \
			-r requirements.lock && \
		$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .; then :; \
	else \
		$(BIN)/pip install --quiet -r requirements.lock && \
		$(BIN)/pip install --quiet --no-deps -e .; \
	fi
	touch $@

# newsbeam's own modules compiled once (each run and test starts Python processes that would
# otherwise compile them again where PYTHONDONTWRITEBYTECODE is set: about 0.4 s a run).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q pipeline transforms

run: $(STAMP) bytecode
	$(BIN)/newsbeam run

# Tests in parallel, one process per core; each test module stays on one process (its
# fixtures, such as a run of the seeds, are made once).
test: $(STAMP) bytecode
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n auto --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-extraction: $(STAMP)
	$(BIN)/python -m benchmarks.extraction

bench-entities: $(STAMP)
	$(BIN)/python -m benchmarks.entities

bench-topics: $(STAMP)
	$(BIN)/python -m benchmarks.topics

bench-throughput: $(STAMP)
	$(BIN)/python -m benchmarks.throughput

bench-nearcopies: $(STAMP)
	$(BIN)/python -m benchmarks.nearcopies

bench-stories: $(STAMP)
	$(BIN)/python -m benchmarks.stories

bench-stories-uci: $(STAMP)
	$(BIN)/python -m benchmarks.stories_uci

bench-incremental: $(STAMP)
	$(BIN)/python -m benchmarks.incremental

bench-reread: $(STAMP)
	$(BIN)/python -m benchmarks.rereads

train-topics: $(STAMP)
	OMP_NUM_THREADS=2 $(BIN)/python -m training.topics

bench-warc: $(STAMP)
	$(BIN)/python -m benchmarks.warc

bench-stream: $(STAMP)
	$(BIN)/python -m benchmarks.stream

clean:
	rm -rf $(VENV) out
