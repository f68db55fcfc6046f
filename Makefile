# Thin wrappers: everything is in dev.py, which needs only python3 and pip.
.PHONY: run test test-unit test-integration lint bench
run:
	python3 dev.py run
# Both test tiers, as CI runs them (.ci/run).
test:
	python3 dev.py test
# tests/unit: no servers, under a minute.
test-unit:
	python3 dev.py test --unit
# tests/integration: the Temporal dev server, workers, processes, the browser.
test-integration:
	python3 dev.py test --integration
lint:
	python3 dev.py lint
bench:
	python3 dev.py bench
