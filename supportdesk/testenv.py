"""pytest plugin loaded before Django: the test run's environment defaults.

Tasks run eagerly (inside ``on_commit``) so tests see their effects; the
in-process worker is started only by the tests that exercise it.
"""

import os

os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("CELERY_INPROCESS_WORKER", "false")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
# Test threads (consumers, race tests) keep their connections until the test
# ends, which would drain a pool; tests use plain connections.
os.environ.setdefault("DATABASE_POOL", "false")
