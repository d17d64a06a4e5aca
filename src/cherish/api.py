"""The REST API under /api/v1/: one Ninja router per app, mounted here."""

from __future__ import annotations

from ninja import NinjaAPI

from cherish.care.api import router as care_router
from cherish.cases.api import router as cases_router
from cherish.customers.api import router as customers_router
from cherish.intake.api import router as intake_router
from cherish.outreach.api import router as outreach_router
from cherish.triage.api import router as triage_router

api = NinjaAPI(
    title="Cherish API",
    version="1.0.0",
    description="Cases, customers and messages for integrations. JSON bodies are snake_case.",
    urls_namespace="api",
)
api.add_router("/", intake_router)
api.add_router("/", cases_router)
api.add_router("/", customers_router)
api.add_router("/", care_router)
api.add_router("/", triage_router)
api.add_router("/", outreach_router)
