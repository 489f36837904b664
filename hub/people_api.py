"""People admin over the API (owner): api.md `GET /users` · `PATCH /users/{id}` (hub.people)."""

from __future__ import annotations

from hub import people
from hub.contracts import UserChange, UserListQuery, UserPage, UserReply
from hub.endpoints import api_blueprint, endpoint
from hub.models import Role, User

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
