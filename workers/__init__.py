"""Deadline workers: the Celery app (workers.app), its tasks (workers.tasks) and the embedded mode
(workers.embedded). See README "Deadline workers"."""
