"""Pre-aggregated roll-ups the scorecard reads (filled by cherish.scorecard.rollups)."""

from __future__ import annotations
