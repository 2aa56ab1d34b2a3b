"""Test-only email backend for the chaos suite: a mail server slow enough to kill a worker in."""

import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    """Django's file backend (EMAIL_FILE_PATH) that first leaves a file in `<path>.sending/`
    (the test's cue that a send is under way) and waits VITRINE_TEST_MAIL_DELAY seconds."""

    def send_messages(self, email_messages):
        sending = Path(f"{self.file_path}.sending")
        sending.mkdir(exist_ok=True)
        (sending / uuid.uuid4().hex).touch()
        time.sleep(getattr(settings, "VITRINE_TEST_MAIL_DELAY", 0))
        return super().send_messages(email_messages)


def delivered(path: Path) -> list[str]:
    """The To: line of every message the backend wrote under `path`."""
    return [
        line.removeprefix("To: ")
        for file in sorted(path.glob("*.log"))
        for line in file.read_text().splitlines()
        if line.startswith("To: ")
    ]
