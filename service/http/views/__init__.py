"""Blueprints, one per concern; each view parses the request and calls service.operations."""
