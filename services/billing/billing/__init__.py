"""Billing: family bills and teacher payroll per month, from the attendance it projects."""
