"""Seconds from the command's start, and where a run's start-up went.

What a user waits for starts when the command starts, not when training starts, so a
run's times count from the process's start: on Linux its start time (/proc/self/stat,
in clock ticks since boot) against CLOCK_BOOTTIME; elsewhere from the import of the gpt
package, saying that Python's own start-up (tens of ms) is not counted.
"""
import os
import time

from . import IMPORTED_AT


def process_age():
    """Seconds since this process was started (10 ms resolution), or None without /proc."""
    try:
        with open('/proc/self/stat', 'rb') as f:
            stat = f.read().decode('ascii', 'replace')
        # the command name (field 2) may hold spaces and ')': split after its last ')'
        start_ticks = int(stat[stat.rindex(')') + 2:].split()[19])       # field 22: starttime
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class RunClock:
    """perf_counter time whose zero is the process's start, and the start-up's phases."""

    def __init__(self):
        age = process_age()
        now = time.perf_counter()
        # the process began before gpt was imported (less the 10 ms tick of /proc's start time)
        self.from_process_start = age is not None and age >= now - IMPORTED_AT - 0.02
        self.zero = now - max(age, now - IMPORTED_AT) if self.from_process_start else IMPORTED_AT
        self.phases = []            # (name, seconds), in the order they happened
        self.reported = False
        self._last = now
        if self.from_process_start:
            self.phases.append(('python', IMPORTED_AT - self.zero))
        self.mark('imports', since=IMPORTED_AT)

    def now(self):
        """Seconds since the process started (or since gpt was imported: see origin())."""
        return time.perf_counter() - self.zero

    def origin(self):
        return 'from process start' if self.from_process_start else 'from the import of gpt'

    def mark(self, name, since=None):
        """Record phase `name` as ending now, begun at the last mark (or at perf_counter `since`)."""
        now = time.perf_counter()
        self.phases.append((name, now - (self._last if since is None else since)))
        self._last = now
        return now

    def has(self, *names):
        return all(any(n == name for n, _ in self.phases) for name in names)

    def breakdown(self):
        """One line: each phase's seconds, then the total so far."""
        parts = ', '.join(f"{name} {seconds:.2f} s" for name, seconds in self.phases)
        missing = '' if self.from_process_start else " (Python's own start-up not counted: no /proc)"
        return f"start-up: {parts}; {self.now():.1f} s {self.origin()}{missing}"
