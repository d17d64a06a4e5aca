"""The REST API under /api/v1/: one Ninja router per app, mounted here."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Cherish API",
    version="1.0.0",
    description="Cases, customers and messages for integrations. JSON bodies are snake_case.",
    urls_namespace="api",
)
