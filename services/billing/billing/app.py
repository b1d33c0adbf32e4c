"""Bootstrap: the billing service's settings, schema, consumer and routes."""
from __future__ import annotations

from pathlib import Path

from academy_common import topology
from academy_common.service import Service
from academy_common.settings import load_settings
from billing import usecases
from billing.close_jobs import CloseWorker
from billing.handlers import QUEUE, Projection
from billing.routes import routes
from billing.settings import Settings

HERE = Path(__file__).parent


def build(settings: Settings | None = None) -> Service:
    settings = settings or load_settings(Settings)
    service = Service(settings, name="billing", schema="billing", migrations=HERE / "migrations", routes=routes,
                      openapi=HERE / "openapi.yaml", uses_outbox=False)  # billing publishes nothing

    async def adopt_timezone() -> None:
        await usecases.adopt_timezone(service.pool, settings.academy_timezone)

    service.background(adopt_timezone)
    worker = CloseWorker(lambda: service.pool, poll_s=settings.close_job_poll_s, chunk=settings.export_chunk_size,
                         progress_every_s=settings.close_job_progress_s)
    service.background(worker.run)
    projection = Projection(settings.academy_timezone)
    service.subscribe(QUEUE, topology.routing_keys(QUEUE), projection.handle)
    return service
