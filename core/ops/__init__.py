"""Running it in production: health probes, metrics, durable uploads (S3), media serving, the
database deadline, structured logs, system checks and the periodic task schedule.
"""
