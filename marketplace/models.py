"""The project core's own table: what background tasks have already done."""

from django.db import models


class TaskStepDone(models.Model):
    """One side effect a background task carried out (an email sent), recorded after it, so a
    task run again after its worker died does not repeat it (`marketplace.tasks.once`).
    Keyed by the task's id; holds no personal data. Pruned by `tasks_requeue_stale`."""

    task_id = models.CharField(max_length=64)
    step = models.CharField(max_length=200)
    done_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_id", "step"], name="task_step_done_once")
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.step}"
