"""Attendance: turns Meet participant snapshots into per-person attendance logs."""
