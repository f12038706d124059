"""Core calls turned into cancellable background jobs that report to the UI only through queued Qt signals."""
