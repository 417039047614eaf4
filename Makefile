# Two commands do everything on a fresh machine with Python 3.11: `make run`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: install run test lint bench migrate demo clean services test-postgres test-scaleout browser messages

# The production stack for the tests below; `make services` (root) installs and starts both
# from the OS packages (.ci/services.sh).
TEST_DATABASE_URL ?= postgres://erpintegr:erpintegr@127.0.0.1:5432/erpintegr
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py ensure_admin

# The admin on http://127.0.0.1:8000/admin/, the sandbox emulators and the worker; Ctrl-C stops all.
run: demo
	$(BIN)/python manage.py run_stack

# The suite includes a real-browser test: Chromium comes from the OS packages (idempotent).
browser:
	bash .ci/browser.sh

test: install browser
	$(BIN)/python -m pytest

services:
	bash .ci/services.sh

# The whole suite again on PostgreSQL (pytest-django creates test_erpintegr).
test-postgres: install browser
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest

# Redis broker + PostgreSQL + 2 qcluster processes over 3 channels (tests/e2e/test_scale_out.py).
test-scaleout: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m pytest -m scaleout

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: migrate
	$(BIN)/python bench/run.py

# Regenerate the pt-BR catalog from the code (needs GNU gettext's xgettext: a developer tool,
# `apt-get install gettext`), then compile the .mo with polib. Translate the new entries in
# locale/pt_BR/LC_MESSAGES/django.po, run `make messages` again, commit both files.
messages: install
	$(BIN)/python manage.py makemessages --locale pt_BR --no-obsolete --add-location file \
		--ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'sandbox/*' --ignore 'docs/*'
	$(BIN)/python -c "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'erpintegr.settings'); django.setup(); from erpintegr.i18n import compile_catalog; compile_catalog()"

clean:
	rm -rf $(VENV) .state db.sqlite3 db.sqlite3-wal db.sqlite3-shm
