# The course's two commands:  make lab  (open the course)   make test  (run every test)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NB ?= notebooks/*.ipynb solutions/*.ipynb
PYTEST_NB := --nbval --nbval-current-env --nbval-cell-timeout=300

.PHONY: lab test test-fast lint execute exercises benchmark clean venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or run: make PYTHON=python3 ...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar off -q -r requirements.txt
	$(PY) -m pip install --progress-bar off -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS) notebooks/00_start_here.ipynb

# Unit tests, checker tests, exercise sync, and strict nbval over notebooks/ and solutions/.
# loadscope keeps all cells of one notebook on one worker.
test: $(STAMP) lint
	COURSE_DEVICE=cpu $(PY) -m pytest -n 2 --dist loadscope $(PYTEST_NB) tests notebooks solutions

# Only course_utils' unit and checker tests (no notebooks).
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadscope tests

lint: $(STAMP)
	$(VENV)/bin/ruff check course_utils tests benchmarks notebooks solutions

# Re-execute notebooks in a fresh kernel and store their outputs:  make execute NB=notebooks/01_perceptron.ipynb
execute: $(STAMP)
	$(PY) -m course_utils.notebooks $(NB)

exercises: $(STAMP)
	$(PY) -m course_utils.exercises

benchmark: $(STAMP)
	$(PY) benchmarks/run_notebooks.py
	$(PY) benchmarks/fit_overhead.py
	$(PY) benchmarks/explorers.py

clean:
	rm -rf $(VENV) .pytest_cache */__pycache__
