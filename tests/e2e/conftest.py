import logging

import pytest

from tests.e2e.procs import QCluster


@pytest.fixture
def qclusters(transactional_db, tmp_path):
    """`qclusters("a", workers=2)` makes a QCluster (not started) logging under tmp_path.
    Every one still running at the end is stopped with SIGINT (SIGKILL if that fails) before
    the test database is flushed."""
    made: list[QCluster] = []
    # async_task() logs every enqueue at INFO; hundreds of those would bury a failure report.
    # The children's own logs are in their files (shown by wait_for on failure).
    django_q_logger = logging.getLogger("django-q")
    level = django_q_logger.level
    django_q_logger.setLevel(logging.WARNING)

    def make(name: str, *, workers: int = 2, env: dict | None = None) -> QCluster:
        cluster = QCluster(name, tmp_path, workers=workers, env=env)
        made.append(cluster)
        return cluster

    yield make
    errors = []
    for cluster in made:
        try:
            cluster.stop(timeout=60)
        except AssertionError as exc:
            errors.append(str(exc))
    django_q_logger.setLevel(level)
    if errors:
        pytest.fail("\n".join(errors))


# --- browser tests (tests/e2e/test_browser.py): Playwright's sync API + Debian's Chromium ------
#
# pytest-playwright's fixtures are session-scoped: the first browser test would start Playwright,
# whose sync API keeps an asyncio loop running in the main thread until the session ends. Every
# later test would then run "inside an event loop": Django refuses ORM calls there unless
# DJANGO_ALLOW_ASYNC_UNSAFE is set, and its connection handler switches to per-context storage
# (fresh connection objects, without the copy serialized_rollback restores from). So the
# Playwright chain is overridden per test here: the loop runs only while a browser test runs,
# after its database is set up.

CHROMIUM = "/usr/bin/chromium"  # from the OS packages (.ci/browser.sh); never `playwright install`


def pytest_configure(config):
    # pytest 9 + pytest-playwright 0.10: a deprecation warning about the plugin's own hooks.
    config.addinivalue_line("filterwarnings", "ignore::pytest.PytestRemovedIn10Warning")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def playwright(monkeypatch, _pw_api_request_contexts):
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's loop runs in this thread while the test uses the ORM, which is safe (the
    # loop is idle whenever Django runs): tell Django so, for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    pw = sync_playwright().start()
    if _pw_api_request_contexts:
        _pw_api_request_contexts.instrument(pw)
    yield pw
    connections.close_all()  # the ones opened inside the loop's context
    pw.stop()


@pytest.fixture
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture
def browser_context_args(pytestconfig, playwright, device, base_url, _pw_artifacts_folder):
    args = {}
    if device:
        args.update(playwright.devices[device])
    if base_url:
        args["base_url"] = base_url
    if pytestconfig.getoption("--video") in ("on", "retain-on-failure"):
        args["record_video_dir"] = _pw_artifacts_folder.name
    return args
