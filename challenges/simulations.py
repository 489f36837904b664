"""JSON route for what-if simulations (api.md `POST /simulations`): proposed settings, and
proposed points for challenges, valued on the challenges' approved completions."""

from __future__ import annotations

from sqlalchemy import func, select

from challenges.models import Challenge, Completion, CompletionStatus
from hub.endpoints import api_blueprint, endpoint
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.models import Role, User
from rewards.simulations import SimulationBody, SimulationReply, simulate

bp = api_blueprint("challenges_simulation_api")


def challenge_point_changes(proposals: dict[int, int]) -> dict[int, int]:
    """Advocate id → lifetime points they would have if each challenge in `proposals`
    (challenge id → proposed points) had paid those points for every approved completion,
    less what it did pay. Raises ValidationFailed (`challenge_points`) for an unknown challenge."""
    if not proposals:
        return {}
    known = set(db.session.scalars(select(Challenge.id).where(Challenge.id.in_(list(proposals)))))
    missing = sorted(set(proposals) - known)
    if missing:
        raise ValidationFailed({"challenge_points": f"No challenge {', '.join(map(str, missing))}."})
    rows = db.session.execute(
        select(
            Completion.advocate_id,
            Completion.challenge_id,
            func.count(),
            func.coalesce(func.sum(Completion.points_awarded), 0),
        )
        .where(Completion.challenge_id.in_(list(proposals)), Completion.status == CompletionStatus.APPROVED)
        .group_by(Completion.advocate_id, Completion.challenge_id)
    ).all()
    extra: dict[int, int] = {}
    for advocate_id, challenge_id, count, awarded in rows:
        extra[advocate_id] = extra.get(advocate_id, 0) + proposals[challenge_id] * count - (awarded or 0)
    return extra


@endpoint(
    bp,
    "/simulations",
    "POST",
    roles={Role.OWNER},
    summary="What-if: the effect of proposed settings or challenge points (writes nothing)",
    tag="rewards",
    body=SimulationBody,
    reply=SimulationReply,
)
def create_simulation(user: User, data: SimulationBody) -> SimulationReply:
    settings = data.model_dump(mode="json", include=data.model_fields_set - {"challenge_points"})
    extra = challenge_point_changes({c.challenge_id: c.points for c in data.challenge_points})
    return SimulationReply.model_validate(simulate(settings, extra))
