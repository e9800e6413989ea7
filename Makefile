# The two commands of the README: `make demo` and `make test`. Both install what they need first.
# uv comes from pip when it is missing; `python3 -m uv` then runs it even if pip's script
# folder is not on PATH.
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif

.PHONY: install demo test test-fast lint bench bench-train clean

# `make bench LEADS=10000000` for another size (`make bench-train` measures `train`).
LEADS ?= 1000000

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --compile-bytecode

demo: install
	$(UV) run leadscore demo

test: install
	$(UV) run pytest

test-fast: install
	$(UV) run pytest -m "not slow"

lint: install
	$(UV) run ruff check .
	$(UV) run mypy
	$(UV) run lint-imports

bench: install
	$(UV) run python bench/run.py --leads $(LEADS)

bench-train: install
	$(UV) run python bench/run.py --leads $(LEADS) --train

clean:
	rm -rf out .prefect .pytest_cache
