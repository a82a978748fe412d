# make book: execute every chapter (papermill) and build the book; make test: the test suite;
# make small: every chapter at the small preset (one seed; the standard model, and the
# x_shifted and x_wide models where a chapter compares pretraining distributions) into
# results/small/chapters, for the Scale chapter, leaving the published chapters as they are.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PRESET ?= cpu
DEVICE ?= auto
RETRAIN ?= 0
JOBS ?=

.PHONY: venv book small test bench serve clean

$(VENV)/installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/installed

book: venv
	$(PY) -m icl_core book --preset $(PRESET) --device $(DEVICE) $(if $(filter 1,$(RETRAIN)),--retrain) $(if $(JOBS),--jobs $(JOBS))

small: venv
	$(PY) -m icl_core book --preset small --device $(DEVICE) --seeds 0 1 2 --pretraining-seeds 0 \
		--pretraining standard x_shifted x_wide --bound-free-seeds \
		--out results/small/chapters $(if $(filter 1,$(RETRAIN)),--retrain)

test: venv
	$(PY) -m pytest -q

bench: venv
	$(PY) benchmarks/train_throughput.py

serve:
	$(PY) -m http.server --directory book/_build/html 8000

clean:
	rm -rf book/_build
