"""Bootstrap: settings → Service with the attendance consumer, routes, migrations and OpenAPI."""
from __future__ import annotations

from pathlib import Path

from academy_common.service import Service
from academy_common.settings import load_settings
from attendance.handlers import QUEUE, ROUTING_KEYS, make_handler
from attendance.routes import routes
from attendance.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
OPENAPI = Path(__file__).with_name("openapi.yaml")


def build(settings: Settings | None = None) -> Service:
    settings = settings or load_settings(Settings)
    service = Service(settings, name="attendance", schema="attendance", migrations=MIGRATIONS, routes=routes,
                      openapi=OPENAPI)
    service.subscribe_batches(QUEUE, ROUTING_KEYS, make_handler(settings.policy()))
    return service
