"""Outbound channels for notifications: SMTP e-mail and an HMAC-signed webhook. In-app
notifications are the outbox rows themselves (service.operations.notifications)."""
