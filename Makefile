# The two set-up commands of the README: `make run` (the operator on the embedded default) and
# `make test` (the whole suite). Both install what is missing on a fresh machine.
SHELL := /bin/bash
NPM ?= npm

.PHONY: run test deps build images check bench

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json

build: deps
	$(NPM) run build

# The quickstart needs only the Docker engine and the trainer image; the tests build every image.
images: deps
	hack/ensure-docker.sh
	hack/build-images.sh trainer

run: build images
	./bin/mlopsctl run --dir examples/quickstart --scheduler auto

test: deps
	$(NPM) test

check: deps
	$(NPM) run gen:check && $(NPM) run lint && $(NPM) run typecheck

bench: deps
	$(NPM) run bench
