# make book: execute every chapter (papermill) and build the book; make test: the test suite;
# make small: every chapter at the small preset (standard model seeds 0-4, of which the chapters
# analyse those that learned the task; the x_shifted
# and x_wide models, seed 0, where a chapter compares pretraining distributions) into
# results/small/chapters, for the Scale chapter, leaving the published chapters as they are;
# make variants: the chapters the scorecard reads at cpu-p21, cpu-d10, cpu-16k and
# small-4x64 (each one factor of scale away from its neighbour), seeds 0-2, into
# results/<variant>/chapters, for the Scale chapter's attribution; at small-4x64 also the
# x_shifted and x_wide models, seed 0, as at small, so that claim 7 is compared across
# model size.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PRESET ?= cpu
DEVICE ?= auto
RETRAIN ?= 0
JOBS ?=

.PHONY: venv book small variants test bench serve clean

$(VENV)/installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/installed

# the smoke preset makes no claim: its run goes to the untracked runs/, chapters and all
SMOKE_WHERE := $(if $(filter smoke,$(PRESET)),--results runs --out runs/smoke/chapters)

book: venv
	$(PY) -m icl_core book --preset $(PRESET) --device $(DEVICE) $(if $(filter 1,$(RETRAIN)),--retrain) $(if $(JOBS),--jobs $(JOBS)) $(SMOKE_WHERE)

small: venv
	$(PY) -m icl_core book --preset small --device $(DEVICE) --seeds 0 1 2 3 4 --pretraining-seeds 0 \
		--pretraining standard x_shifted x_wide --bound-free-seeds \
		--out results/small/chapters $(if $(filter 1,$(RETRAIN)),--retrain)

VARIANT_CHAPTERS := in_distribution distribution_shift signature_and_loss pretraining \
	what_fails scorecard

variants: venv
	# at cpu-p21-d10 no seed learns the task: only the chapter that says so
	$(PY) -m icl_core book --preset cpu-p21-d10 --device $(DEVICE) --seeds 0 1 2 \
		--chapters in_distribution --out results/cpu-p21-d10/chapters
	for preset in cpu-p21 cpu-d10 cpu-16k; do \
		$(PY) -m icl_core book --preset $$preset --device $(DEVICE) --seeds 0 1 2 \
			--pretraining standard --bound-free-seeds --chapters $(VARIANT_CHAPTERS) \
			--out results/$$preset/chapters || exit 1; \
	done
	$(PY) -m icl_core book --preset small-4x64 --device $(DEVICE) --seeds 0 1 2 \
		--pretraining-seeds 0 --pretraining standard x_shifted x_wide --bound-free-seeds \
		--chapters $(VARIANT_CHAPTERS) --out results/small-4x64/chapters

test: venv
	$(PY) -m pytest -q

bench: venv
	$(PY) benchmarks/train_throughput.py

serve:
	$(PY) -m http.server --directory book/_build/html 8000

clean:
	rm -rf book/_build
