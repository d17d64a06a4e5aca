"""The care part of the REST API (mounted in cherish/api.py)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["care"])
