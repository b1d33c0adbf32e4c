"""Prometheus metrics of the attendance service."""
from prometheus_client import Counter

LOGS_UPDATED = Counter("attendance_logs_updated_total", "attendance.log.updated events written to the outbox")
SNAPSHOTS = Counter("attendance_snapshots_total", "Participant snapshots by what they did", ["outcome"])
