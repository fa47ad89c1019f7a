from django.db import models

from seatplan.ids import new_id


class TestClock(models.Model):
    """A frozen instant that sandbox accounts follow instead of real time (SPEC §8)."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("clock"), editable=False)
    frozen_time = models.DateTimeField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.id} @ {self.frozen_time.isoformat()}"
