"""Queue workers: Celery on Redis, running coding jobs with services built once per process."""
