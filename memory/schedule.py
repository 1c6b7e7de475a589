"""``--every monday-09:00``: a weekly schedule, its next fire time, and a loop driven by an injected clock.

The loop never reads the wall clock itself: ``clock()`` gives the current moment and ``sleep(s)``
waits, so tests drive it with a fake clock that advances.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Callable

from memory.errors import InvalidQuery

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPEC = re.compile(r"^(?P<day>[a-z]+)-(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


@dataclass(frozen=True)
class Weekly:
    weekday: int  # 0 = Monday
    at: time  # UTC

    @classmethod
    def parse(cls, spec: str) -> "Weekly":
        """``monday-09:00`` (UTC); day names may be shortened to three letters (``mon-09:00``)."""
        match = _SPEC.match(spec.strip().lower())
        day = next((i for i, name in enumerate(DAYS) if match and len(match.group("day")) >= 3
                    and name.startswith(match.group("day"))), None)
        if not match or day is None:
            raise InvalidQuery(f"--every {spec!r} is not a weekly schedule", hint="write DAY-HH:MM in UTC, e.g. monday-09:00")
        hour, minute = int(match.group("hour")), int(match.group("minute"))
        if hour > 23 or minute > 59:
            raise InvalidQuery(f"--every {spec!r}: {hour:02d}:{minute:02d} is not a time of day", hint="e.g. monday-09:00")
        return cls(day, time(hour, minute, tzinfo=timezone.utc))

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment``."""
        moment = moment.astimezone(timezone.utc)
        day = moment.date() + timedelta(days=(self.weekday - moment.weekday()) % 7)
        fire = datetime.combine(day, self.at)
        return fire if fire > moment else fire + timedelta(days=7)

    def cron(self) -> str:
        """The same schedule as a crontab line's time fields (in UTC)."""
        return f"{self.at.minute} {self.at.hour} * * {(self.weekday + 1) % 7}"


def run_every(
    schedule: Weekly,
    job: Callable[[datetime], None],
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    times: int | None = None,
    on_error: Callable[[datetime, Exception], None] | None = None,
) -> int:
    """Call ``job(fire_time)`` at every fire time, ``times`` times (forever when ``None``); returns how many ran.

    A job that raises is reported to ``on_error`` (when given, else re-raised) and the loop goes on to the
    next fire time, so one failed post does not stop next week's digest.
    """
    ran = 0
    fire = schedule.next_after(clock())
    while times is None or ran < times:
        now = clock()
        if now < fire:
            sleep(min((fire - now).total_seconds(), 3600.0))  # wake at least hourly: a suspended laptop catches up
            continue
        try:
            job(fire)
        except Exception as exc:  # noqa: BLE001 - reported, the schedule goes on
            if on_error is None:
                raise
            on_error(fire, exc)
        ran += 1
        fire = schedule.next_after(max(clock(), fire))
    return ran
