.DEFAULT_GOAL := help
PY := .venv/bin/python

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

start: ## Start the embedded desk with demo data (python3 desk.py start)
	python3 desk.py start

test: ## Run the whole test suite on the embedded default
	python3 desk.py test

test-pg: ## Run the suite on PostgreSQL + Redis on 127.0.0.1
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_dev \
	REDIS_URL=redis://127.0.0.1:6379/8 python3 desk.py test

lint: ## ruff format check and lint
	python3 desk.py lint

format: ## Format the code with ruff
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

ci: ## What CI runs: lint, tests on SQLite, tests on PostgreSQL + Redis
	bash .ci/run

bench: ## Every benchmark (production shape on PostgreSQL + Redis; slow)
	$(PY) -m bench.run_all
