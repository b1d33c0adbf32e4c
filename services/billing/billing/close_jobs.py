"""Background entry of the close jobs: every replica looks for running jobs and runs those no
other replica runs (the claim is in PostgreSQL), so a job requested anywhere, or left running
by a replica that died, is run (again) by whichever replica gets to it first."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import structlog

from billing import usecases

log = structlog.get_logger(__name__)


class CloseWorker:
    def __init__(self, pool: Callable[[], asyncpg.Pool], *, poll_s: float, chunk: int, progress_every_s: float):
        self._pool, self._poll_s = pool, poll_s
        self._chunk, self._progress_every_s = chunk, progress_every_s

    async def run(self) -> None:
        """At start (resuming what a stopped replica left) and every poll_s after."""
        while True:
            await self.run_pending()
            await asyncio.sleep(self._poll_s)

    async def run_pending(self) -> None:
        pool = self._pool()
        for job_id in await usecases.running_close_jobs(pool):
            try:
                await usecases.run_close_job(pool, job_id, chunk=self._chunk, progress_every_s=self._progress_every_s)
            except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                log.exception("close job interrupted: the database went away; it stays running", job_id=str(job_id))
            except Exception:
                log.exception("close job crashed", job_id=str(job_id))
                await usecases.fail_close_job(pool, job_id, "the close crashed; see the billing logs")
