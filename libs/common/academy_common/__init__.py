"""Plumbing shared by the academy services (see libs/common/README.md)."""
