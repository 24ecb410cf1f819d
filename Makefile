.PHONY: run test demo
run:  ## install, fill a demo network, serve on :8000
	./scripts/run
test: ## install test tools, lint, type-check, run every test
	./scripts/test
