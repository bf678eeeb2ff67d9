"""The rq preset's worker: RQ's own, which exits as soon as its last job is done.

RQ listens for commands (shutdown, stop a job) in a thread that waits for
Redis up to 60 s at a time. To stop, RQ 3.0 unsubscribes, then asks that
thread to end and waits for it; since redis-py 8.2 that wait has no bound.
When the thread reads the reply to the unsubscription before it is asked to
end (a busy machine makes that likely), it waits again, for 60 s: the worker,
its job done and saved, outlives supervisord's grace period and is killed.
"""

from __future__ import annotations

import threading

import rq


# Without rq installed (the type checker's environment), rq.Worker is Any.
class Worker(rq.Worker):  # type: ignore[misc,unused-ignore]
    """RQ's worker, whose command listener ends with the unsubscription's reply."""

    def unsubscribe(self) -> None:
        # Ask the listener (redis-py's PubSubWorkerThread) to end first: the
        # reply then ends its wait, whichever thread gets there first.
        running = getattr(self.pubsub_thread, "_running", None)
        if isinstance(running, threading.Event):
            running.clear()
        super().unsubscribe()  # type: ignore[no-untyped-call,unused-ignore]
