# Style Atlas — the two commands of the README:
#   make run    install, then start the app on the bundled demo catalog
#   make test   install (system packages too), then run every test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test system-deps lint bench

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-ray.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/python app.py

test: system-deps $(VENV)/.installed
	$(BIN)/python -m pytest --headless

system-deps:
	@bash scripts/install_system_deps.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check core pages components app.py tests bench
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_embedding.py
