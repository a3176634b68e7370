# The one developer interface: CI calls `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_HOME := $(CURDIR)/.prefect

.PHONY: setup demo rerun test check lock clean server serve browser screenshots

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Every package from requirements-dev.lock (runtime + notebooks + dev), each checked against its
# hashes, then the project itself, built with the locked setuptools (no unpinned download).
# --no-deps: the lock is the whole set (pip's resolver, 23.2 here, rejects a pinned httpx as
# prefect's `httpx[http2]` in hash mode); `pip check` then proves every dependency is there.
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check
$(VENV)/.installed: $(BIN)/python requirements-dev.lock pyproject.toml
	$(PIP_INSTALL) --require-hashes --no-deps -r requirements-dev.lock
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	$(BIN)/pip check --disable-pip-version-check
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/radar demo

# The pipeline again on the demo world `make demo` generated (its landing and as-of date),
# keeping the warehouse: new files only, exports rewritten.
rerun: setup
	$(BIN)/radar demo --rerun

# Headless Chromium and a Chinese font for the report's browser test (Debian packages; needs
# root, as in CI). Without them the browser test is skipped with its reason.
browser:
	@dpkg -s chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei) \
	    >/dev/null 2>&1 || echo "could not install chromium: the browser test will be skipped"; }

test: setup browser
	$(BIN)/pytest -q

# Regenerate the README's screenshots (docs/img/) from the demo run: the province report, the
# smallest dossier with a pair of names joined by the name matcher (the whole page, linkage
# included, in one picture), and Data Docs on a copy of the demo (data/screens/): the demo's
# clean night, then a later night that loads a broken complaints file (tools/broken_file.py).
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars
SHOT := chromium $(CHROMIUM_FLAGS) --force-device-scale-factor=0.5
DEMO_OUT := data/out/2026-06-30
SCREENS := data/screens
screenshots: browser
	test -f $(DEMO_OUT)/reports/province/report.html || $(MAKE) demo
	$(SHOT) --user-data-dir=$$(mktemp -d) --window-size=1400,1500 \
	  --screenshot=docs/img/province_report.png file://$(CURDIR)/$(DEMO_OUT)/reports/province/report.html
	page=$$(grep -l '匹配概率 match probability</th>' $(DEMO_OUT)/reports/*/leads/*.html | \
	  xargs ls -S | tail -1) && \
	$(SHOT) --user-data-dir=$$(mktemp -d) --window-size=1100,1700 --screenshot=docs/img/dossier.png \
	  file://$(CURDIR)/$$page
	rm -rf $(SCREENS) && mkdir -p $(SCREENS)/out
	cp -r data/demo_world/landing $(SCREENS)/landing && cp data/warehouse.duckdb $(SCREENS)/
	cp -r $(DEMO_OUT) data/out/data_docs $(SCREENS)/out/
	$(SHOT) --user-data-dir=$$(mktemp -d) --window-size=1400,900 \
	  --screenshot=docs/img/data_docs_clean.png file://$(CURDIR)/$(SCREENS)/out/data_docs/index.html
	$(BIN)/python -m tools.broken_file --landing $(SCREENS)/landing --out-name 2026-07/12315_broken.csv
	$(BIN)/radar run --landing $(SCREENS)/landing --warehouse $(SCREENS)/warehouse.duckdb \
	  --as-of 2026-07-01 --out $(SCREENS)/out >/dev/null
	$(SHOT) --user-data-dir=$$(mktemp -d) --window-size=1400,1300 \
	  --screenshot=docs/img/data_docs_broken.png file://$(CURDIR)/$(SCREENS)/out/data_docs/index.html

# Wall time and peak memory of the nightly run, stage by stage, cold and incremental, on a
# province-scale and a national-scale demo world; writes BENCHMARKS.md. BENCH_NATIONAL=0
# skips the national world (~10 M listing rows, the longest part).
BENCH_NATIONAL ?= 1
.PHONY: bench
bench: setup
	$(BIN)/python -m tools.bench --national $(BENCH_NATIONAL)

# The surge detectors' thresholds (scan threshold, negbin alpha, EARS C2 threshold) swept over
# the held-out demo worlds 31-33 (~10 min the first time; worlds under data/surge_eval/ are
# reused); writes SURGES.md.
.PHONY: surge-eval
surge-eval: setup
	$(BIN)/python -m tools.surge_eval

check: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# A local Prefect server with its own database under .prefect/ (UI at http://127.0.0.1:4200).
server: setup
	$(BIN)/prefect server start --host 127.0.0.1 --port 4200

# The scheduled deployments, served against the server above.
serve: setup
	PREFECT_API_URL=http://127.0.0.1:4200/api $(BIN)/radar serve

# Re-resolve the two hashed locks after editing pyproject.toml's dependencies (README,
# Development): requirements.lock (runtime, what a deployment installs) and
# requirements-dev.lock (runtime + the notebooks and dev extras, what `make setup` installs),
# both resolved for CPython 3.11 on every platform, with the build-system's setuptools. A pin
# already in a lock is kept (no upgrade); the tool is uv, pinned here.
UV_VERSION := 0.13.8
LOCK_TOOL := /tmp/radar-lock-uv-$(UV_VERSION)
BUILD_REQUIRES := $(PYTHON) -c "import tomllib; \
  print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')"
UV_COMPILE := $(LOCK_TOOL)/bin/uv pip compile --quiet --universal --python-version 3.11 \
  --generate-hashes --custom-compile-command "make lock" pyproject.toml -
lock:
	test -x $(LOCK_TOOL)/bin/uv || \
	  { $(PYTHON) -m venv $(LOCK_TOOL) && $(LOCK_TOOL)/bin/pip install --quiet uv==$(UV_VERSION); }
	$(BUILD_REQUIRES) | $(UV_COMPILE) -o requirements.lock
	$(BUILD_REQUIRES) | $(UV_COMPILE) --extra notebooks --extra dev -c requirements.lock \
	  -o requirements-dev.lock

clean:
	rm -rf data .prefect
