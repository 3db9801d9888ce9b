# The two set-up commands of the README: `make run` (the operator on the embedded default) and
# `make test` (the whole suite). Both install what is missing on a fresh machine.
SHELL := /bin/bash
NPM ?= npm

.PHONY: run test test-real deps build images check bench

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

QUICKSTART ?= examples/quickstart
run: build images
	./bin/mlopsctl run --dir $(QUICKSTART) --scheduler auto --progress-interval 3s

test: deps
	$(NPM) test

# The contract suites and the end-to-end scenario against real Nomad, Consul and Grafana: the
# addresses in NOMAD_ADDR / CONSUL_HTTP_ADDR / GRAFANA_URL, or the official images (testcontainers).
test-real: deps
	node_modules/.bin/node hack/test-real.ts

check: deps
	$(NPM) run gen:check && $(NPM) run lint && $(NPM) run typecheck

bench: deps
	$(NPM) run bench
