"""Run Prefect's temporary API server so that it cannot outlive the process that started it.

Without PREFECT_API_URL, Prefect 3.8.8 starts a uvicorn subprocess per process
(`prefect.server.api.server.SubprocessASGIServer`) and stops it from an `atexit` hook: a parent
killed with SIGKILL (or by the OOM killer) never runs that hook, and the server lives on, holding
memory and a port. Here the server runs under this module as its launcher:

    python -m flows.tether FD <uvicorn arguments>

FD is the read end of a pipe whose write end only the parent holds (it is not inherited by any
other child). However the parent ends, the kernel closes its end; the read here then returns
end-of-file, and the server shuts down as it does on SIGTERM. A pipe rather than Linux's
PR_SET_PDEATHSIG because that signal fires when the *thread* that started the child exits, and
Prefect may start the server from a worker thread.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time

# After SIGTERM, how long uvicorn gets to shut down before the launcher exits anyway.
SHUTDOWN_GRACE_SECONDS = 10.0


def _stop_when_parent_is_gone(fd: int) -> None:
    with os.fdopen(fd, "rb", buffering=0) as parent:
        while parent.read(1):  # the parent never writes; this returns b"" once it is gone
            pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(SHUTDOWN_GRACE_SECONDS)
    os._exit(1)


def main(argv: list[str]) -> None:
    fd, *uvicorn_arguments = argv
    threading.Thread(target=_stop_when_parent_is_gone, args=(int(fd),), daemon=True,
                     name="leadscore-tether").start()
    sys.argv = ["uvicorn", *uvicorn_arguments]
    runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
