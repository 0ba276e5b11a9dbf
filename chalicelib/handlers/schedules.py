"""EventBridge schedules. One rule a minute drives every job in `services.schedules.JOBS` by its own cadence."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="tick")
def tick(event: Any) -> dict[str, Any]:
    """Run whatever is due on the stage clock; each job claims its boundary, so a re-fired rule is harmless."""
    from chalicelib.services import schedules  # every job's graph: not for the API function's cold start

    return {"ran": schedules.run_due()}
