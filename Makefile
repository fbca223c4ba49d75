# pygama_ak: the two README commands (`make demo`, `make test`) plus benchmarks and anchors.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ANCHORS := .venv-anchors
STAMP := $(VENV)/.installed

.PHONY: test demo bench anchors crosscheck lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[test,plot]'
	touch $(STAMP)

## make test: create .venv if needed, install pygama_ak[test], run ruff and pytest
test: $(STAMP)
	$(VENV)/bin/ruff check pygama_ak tests benchmarks queries
	$(PY) -m pytest -q

## make demo: generate a small LH5 file, list it, export a table to Parquet (no external data)
demo: $(STAMP)
	$(PY) -m pygama_ak.demo demo-output

## make anchors: a separate venv with the established tools, for benchmarks and cross-checks
$(ANCHORS)/.installed:
	test -x $(ANCHORS)/bin/python || $(PYTHON) -m venv $(ANCHORS)
	$(ANCHORS)/bin/python -m pip install -q -U pip
	$(ANCHORS)/bin/python -m pip install -q 'legend-pydataobj==2.0.3' 'legend-lh5io==0.3.0' \
		'legend-daq2lh5==1.7.1' 'dspeed==2.4.3' 'pygama==2.6.2'
	$(ANCHORS)/bin/python -m pip install -q -e .
	touch $@

anchors: $(ANCHORS)/.installed

## make bench: ours vs the established tools vs plain h5py, same input, one run
bench: $(STAMP) anchors
	$(ANCHORS)/bin/python benchmarks/lh5_read.py
	$(ANCHORS)/bin/python benchmarks/codecs.py
	$(ANCHORS)/bin/python benchmarks/import_time.py
	$(ANCHORS)/bin/python benchmarks/tiers.py

## make crosscheck: everything we write reads back equal in lgdo, and vice versa
crosscheck: anchors
	$(ANCHORS)/bin/python benchmarks/crosscheck_lgdo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check pygama_ak tests benchmarks queries
	$(VENV)/bin/ruff format --check pygama_ak tests benchmarks queries

clean:
	rm -rf demo-output bench-output .pytest_cache
	find pygama_ak -name "*.nbi" -o -name "*.nbc" | xargs rm -f  # stale numba caches
