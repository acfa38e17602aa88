"""Kill a server's process group when the process that started it dies, even by SIGKILL (no orphaned GPU memory).

Run as a script (``python -I watchdog.py PARENT_PID PGID GRACE_S``), not as a module: it imports nothing from
the package, so it starts in milliseconds. It polls its own parent: when that dies the kernel re-parents the watchdog
(``getppid()`` changes; exact, no pid reuse), and the watchdog sends SIGTERM to the group, then SIGKILL after
``GRACE_S``. vLLM's workers share the group, so they go too. It exits on its own once the group is gone.
A watchdog beats ``PR_SET_PDEATHSIG`` here: that signal fires when the *thread* that forked exits (a judge may
be opened from a short-lived thread), reaches only the direct child, and needs an unsafe ``preexec_fn``.
"""

from __future__ import annotations

import os
import signal
import sys
import time

POLL_S = 0.2


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the id now names a group that is not ours
        return False
    return True


def stop_group(pgid: int, grace_s: float) -> None:
    """SIGTERM the group, SIGKILL what is left after ``grace_s`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and group_exists(pgid):
        time.sleep(POLL_S)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def watch(parent_pid: int, pgid: int, grace_s: float) -> None:
    """Return when the group is gone; stop it first if ``parent_pid`` stops being this process's parent."""
    while group_exists(pgid):
        if os.getppid() != parent_pid:
            stop_group(pgid, grace_s)
            return
        time.sleep(POLL_S)


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
