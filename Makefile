# Two commands do all the set-up on a fresh machine:
#   make demo   - fit a soundtrack to the sample timeline with the built-in MusicAPI emulator
#   make test   - run every test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/scorefit fit --emulator --timeline tools/sample_timeline.json \
		--library demo-output/library -o demo-output/soundtrack.wav

test: $(BIN)/.installed
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) demo-output build dist
