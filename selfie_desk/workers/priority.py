"""Background threads yield the CPU to the window's thread: on a loaded machine the window stays smooth."""

from __future__ import annotations

import os
import sys
import threading


def lower_thread_priority(nice: int) -> None:
    """Give the calling thread the nice value `nice` (Linux: this thread alone; threads it starts later, such
    as a decode pool or torch's, inherit it). Elsewhere a no-op, since there the priority is per process."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass
