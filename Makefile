# imbal-dist: the two commands that do everything on a fresh Debian machine.
#   make run    installs what is needed, builds in release mode, trains the default job under mpirun
#   make test   installs what is needed, checks formatting, builds, runs the whole test suite
# Other targets: deps, build, lint, fuzz (libFuzzer over every parser, 100,000 runs each),
# slurm-test (a one-node Slurm requeues cluster/slurm.sbatch mid-run; root), clean.
# `make run RANKS=2 ARGS="--epochs 3"` changes the job.

RANKS ?= 4
ARGS ?=
SWIFT ?= swift
DEBIAN_PACKAGES := libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev zlib1g-dev libpng-dev \
  libjpeg62-turbo-dev libturbojpeg0-dev libvips-dev pkg-config dataset-fashion-mnist iproute2

.PHONY: deps build run test lint fuzz slurm-test clean

deps:
	@scripts/install-deps $(DEBIAN_PACKAGES)

build: deps
	$(SWIFT) build -c release

run: build
	scripts/mpirun-local -n $(RANKS) .build/release/imbal-dist $(ARGS)

lint:
	$(SWIFT) format lint --strict -r Sources Tests Fuzz Package.swift

# Tests run in release mode: the gradient checks and the real mpirun runs need optimised code,
# and the mpirun tests drive the imbal-dist binary built beside the test bundle.
test: deps lint
	scripts/install-deps shellcheck qemu-user
	scripts/python-venv
	SWIFT=$(SWIFT) scripts/fuzz --smoke
	$(SWIFT) build -c release
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build --disable-swift-testing

fuzz: deps
	SWIFT=$(SWIFT) scripts/fuzz

slurm-test: build
	scripts/python-venv
	cluster/slurm-test.sh

clean:
	rm -rf .build
