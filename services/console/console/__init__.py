"""The academy console: a backend-for-frontend over the scheduler, attendance and billing APIs."""
