"""JSON routes for the owner's program settings (api.md `GET/PATCH /settings`)."""

from __future__ import annotations

from hub.endpoints import api_blueprint, endpoint
from hub.models import Role, User
from rewards.program_settings import SettingsPatch, SettingsReply, apply_settings, current_settings

bp = api_blueprint("rewards_settings_api")


@endpoint(
    bp,
    "/settings",
    roles={Role.OWNER},
    summary="The program settings (owner)",
    tag="rewards",
    reply=SettingsReply,
)
def get_settings(user: User) -> SettingsReply:
    return SettingsReply.model_validate(current_settings())


@endpoint(
    bp,
    "/settings",
    "PATCH",
    roles={Role.OWNER},
    summary="Change program settings (owner; audited; a tier change recomputes tiers)",
    tag="rewards",
    body=SettingsPatch,
    reply=SettingsReply,
    idempotent=True,
)
def patch_settings(user: User, data: SettingsPatch) -> SettingsReply:  # type: ignore[valid-type]
    changes = data.model_dump(mode="json", include=data.model_fields_set)  # type: ignore[attr-defined]
    settings, _ = apply_settings(changes, user.id)
    return SettingsReply.model_validate(settings)
