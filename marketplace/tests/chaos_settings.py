"""Settings of the db_worker the chaos suite starts and kills: the test settings, with
production's database task backend and a slow file mail backend (marketplace/tests/slow_mail)."""

import os

from marketplace.settings.test import *  # noqa: F403

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
EMAIL_BACKEND = "marketplace.tests.slow_mail.SlowFileBackend"
EMAIL_FILE_PATH = os.environ["CHAOS_MAIL_DIR"]
VITRINE_TEST_MAIL_DELAY = float(os.environ.get("CHAOS_MAIL_DELAY", "0"))
