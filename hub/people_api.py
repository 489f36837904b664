"""People over the API: profiles (api.md `PATCH /me`, `PATCH /advocates/{id}`; hub.accounts) and
the owner's people admin (`GET /users` · `PATCH /users/{id}`; hub.people)."""

from __future__ import annotations

from hub import accounts, people
from hub.accounts import AdvocateProfile, ProfileBody
from hub.api import advocate_for, advocate_reply, for_staff, me_reply
from hub.contracts import AdvocateReply, Body, MeReply, UserChange, UserListQuery, UserPage, UserReply, patch_of
from hub.endpoints import api_blueprint, endpoint
from hub.models import ALL_ROLES, STAFF_ROLES, Role, User

ProfilePatch = patch_of(ProfileBody)
AdvocatePatch = patch_of(AdvocateProfile)

bp = api_blueprint("people_api")


def user_reply(user: User) -> UserReply:
    return UserReply(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        is_active=user.is_active_user,
        last_login_at=user.last_login_at,
    )


@endpoint(bp, "/users", roles={Role.OWNER}, summary="List users", query=UserListQuery, reply=UserPage)
def list_users(user: User, args: UserListQuery) -> UserPage:
    users, total = people.users_page(args.offset, args.per_page, args.q)
    return UserPage.of([user_reply(u) for u in users], args, total)


@endpoint(
    bp,
    "/users/<int:user_id>",
    "PATCH",
    roles={Role.OWNER},
    summary="Change a user's role, deactivate or reactivate them; audited",
    body=UserChange,
    reply=UserReply,
)
def update_user(user: User, user_id: int, data: UserChange) -> UserReply:
    return user_reply(people.update_user(user_id, user.id, role=data.role, is_active=data.is_active))


@endpoint(
    bp,
    "/me",
    "PATCH",
    roles=ALL_ROLES,
    summary="Change your own profile",
    body=ProfilePatch,
    reply=MeReply,
    tag="hub",
)
def update_me(user: User, data: Body) -> MeReply:
    changes = {k: getattr(data, k) for k in data.model_fields_set}
    accounts.update_profile(user.id, changes, user.id)
    return me_reply(user)


@endpoint(
    bp,
    "/advocates/<int:advocate_id>",
    "PATCH",
    roles=STAFF_ROLES,
    summary="Correct an advocate's profile; audited",
    body=AdvocatePatch,
    reply=AdvocateReply,
)
def update_advocate(user: User, advocate_id: int, data: Body) -> AdvocateReply:
    advocate = advocate_for(user, advocate_id)
    changes = {k: getattr(data, k) for k in data.model_fields_set}
    accounts.update_profile(advocate.user_id, changes, user.id)
    return for_staff(advocate_reply(advocate), advocate)
