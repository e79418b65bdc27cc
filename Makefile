# The course's two commands:  make lab  (open the course)   make test  (run every test)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NB ?=
ALL_NB := notebooks/*.ipynb solutions/*.ipynb
# Lax nbval: every cell must run (a claim that does not hold fails its cell); only cells
# tagged nbval-check-output (set by `make stabilize`) have their text output compared.
PYTEST_NB := --nbval-lax --nbval-current-env --nbval-cell-timeout=300
# Two runs cover the four perturbations (each CPU code path paired with a seed offset);
# `make stabilize` tries each of the four on its own.
PERTURBED := ATEN_CPU_CAPABILITY=default,COURSE_SEED_OFFSET=1 MKL_CBWR=COMPATIBLE,COURSE_SEED_OFFSET=2

.PHONY: lab test test-perturbed test-fast test-browser lint execute stabilize exercises site benchmark benchmark-browser clean venv browser-venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or run: make PYTHON=python3 ...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar off -q -r requirements.txt
	$(PY) -m pip install --progress-bar off -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Playwright for the browser tests; the browser itself is the system's Chromium.
BROWSER_STAMP := $(VENV)/.browser
browser-venv: $(BROWSER_STAMP)

$(BROWSER_STAMP): $(STAMP) requirements-browser.txt
	$(PY) -m pip install --progress-bar off -q -r requirements-browser.txt
	touch $(BROWSER_STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS) notebooks/00_start_here.ipynb

# Unit tests, checker tests, exercise sync, and nbval (lax: every claim checked, tagged cells
# compared) over notebooks/ and solutions/.
# loadscope keeps all cells of one notebook on one worker.
test: $(STAMP) lint
	COURSE_DEVICE=cpu $(PY) -m pytest -n 2 --dist loadscope $(PYTEST_NB) tests notebooks solutions

# The notebooks' tests again under other CPU code paths and other seeds: every claim must
# hold and every compared cell print the same.  NB=... restricts it to some notebooks.
test-perturbed: $(STAMP)
	@set -e; for kv in $(PERTURBED); do echo "== $$kv"; \
	  env COURSE_DEVICE=cpu $$(echo $$kv | tr , ' ') $(PY) -m pytest -q -n 2 --dist loadscope $(PYTEST_NB) $(or $(NB),notebooks); done

# Only course_utils' unit and checker tests (no notebooks).
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadscope tests

lint: $(STAMP)
	$(VENV)/bin/ruff check course_utils tests browser benchmarks notebooks solutions

# Re-execute notebooks in a fresh kernel and store their outputs:  make execute NB=notebooks/01_perceptron.ipynb
execute: $(STAMP)
	$(PY) -m course_utils.tools.notebooks $(or $(NB),$(ALL_NB))

# Tag the cells whose output is the same under every perturbation (they are compared).
stabilize: $(STAMP)
	$(PY) -m course_utils.tools.stability --write $(or $(NB),$(ALL_NB))

exercises: $(STAMP)
	$(PY) -m course_utils.tools.exercises

# The offline course website in _site/ (open _site/index.html; no network needed).
site: $(STAMP)
	$(PY) -m course_utils.tools.site --out _site

# JupyterLab and the built site in headless Chromium (screenshots in artifacts/screenshots).
# Needs a system Chromium (Debian: apt-get install chromium) or COURSE_CHROMIUM=/path.
# LAB_ENV="KEY=VALUE ..." runs the notebooks' kernels with those variables.
LAB_ENV ?=
test-browser: $(BROWSER_STAMP) site
	$(PY) -m pytest -p no:xdist -q browser $(foreach kv,$(LAB_ENV),--lab-env $(kv))

benchmark-browser: $(BROWSER_STAMP)
	$(PY) benchmarks/browser_explorers.py

benchmark: $(STAMP)
	$(PY) benchmarks/run_notebooks.py
	$(PY) benchmarks/fit_overhead.py
	$(PY) benchmarks/explorers.py
	$(PY) benchmarks/distributed_step.py

clean:
	rm -rf $(VENV) .pytest_cache */__pycache__ _site artifacts
