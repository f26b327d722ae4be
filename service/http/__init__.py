"""The HTTP API: a thin layer over service.operations (see app.create_app)."""
