"""People over the API: profiles (api.md `PATCH /me`, `PATCH /advocates/{id}`; hub.accounts), the
owner's people admin (`GET /users` · `PATCH /users/{id}`; hub.people) and invitations (`GET
/invitations`, resend, revoke; hub.invitations)."""

from __future__ import annotations

from sqlalchemy import select

from hub import accounts, groups, invitations, people
from hub.accounts import AdvocateProfile, ProfileBody
from hub.api import advocate_for, advocate_reply, for_staff, me_reply
from hub.contracts import (
    AdvocateReply,
    Body,
    GroupBody,
    GroupList,
    GroupMembersBody,
    GroupMembersReply,
    GroupReply,
    InvitationListQuery,
    InvitationPage,
    InvitationReply,
    MeReply,
    UserChange,
    UserListQuery,
    UserPage,
    UserReply,
    patch_of,
)
from hub.db import utcnow
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.models import ALL_ROLES, STAFF_ROLES, Group, Invite, Role, User

ProfilePatch = patch_of(ProfileBody)
AdvocatePatch = patch_of(AdvocateProfile)
GroupPatch = patch_of(GroupBody)

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


def invitation_reply(row: Invite) -> InvitationReply:
    inviter = row.invited_by
    return InvitationReply(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        state=row.state(utcnow()),
        invited_by=inviter.name if inviter is not None else None,
        created_at=row.created_at,
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        accepted_at=row.used_at,
        revoked_at=row.revoked_at,
    )


@endpoint(
    bp,
    "/invitations",
    roles=STAFF_ROLES,
    summary="Invitations by state (pending, accepted, expired, revoked), newest first",
    query=InvitationListQuery,
    reply=InvitationPage,
)
def list_invitations(user: User, args: InvitationListQuery) -> InvitationPage:
    rows, total = invitations.invitations_page(args.state, args.offset, args.per_page)
    return InvitationPage.of([invitation_reply(r) for r in rows], args, total)


@endpoint(
    bp,
    "/invitations/<int:invite_id>/resend",
    "POST",
    roles=STAFF_ROLES,
    summary="Email a pending or expired invitation again with a new link (the old one stops working); "
    "409 limit_reached within 15 minutes of the last send, invalid_state once accepted or revoked",
    reply=InvitationReply,
)
def resend_invitation(user: User, invite_id: int) -> InvitationReply:
    return invitation_reply(invitations.resend(invite_id, user))


@endpoint(
    bp,
    "/invitations/<int:invite_id>/revoke",
    "POST",
    roles=STAFF_ROLES,
    summary="End an invitation now (its link stops working); 409 invalid_state once accepted or revoked",
    reply=InvitationReply,
)
def revoke_invitation(user: User, invite_id: int) -> InvitationReply:
    return invitation_reply(invitations.revoke(invite_id, user))


def _group_reply(group: Group) -> GroupReply:
    return GroupReply(
        id=group.id, name=group.name, description=group.description, members=groups.member_count(group.id)
    )


@endpoint(bp, "/groups", roles=STAFF_ROLES, summary="Groups by name, with their member counts", reply=GroupList)
def list_groups(user: User) -> GroupList:
    counts = groups.member_counts()
    rows = db.session.scalars(select(Group).order_by(Group.name))
    return GroupList(
        items=[GroupReply(id=g.id, name=g.name, description=g.description, members=counts.get(g.id, 0)) for g in rows]
    )


@endpoint(
    bp, "/groups", "POST", roles=STAFF_ROLES, summary="Create a group", status=201, body=GroupBody, reply=GroupReply
)
def create_group(user: User, data: GroupBody) -> tuple[GroupReply, int]:
    return _group_reply(accounts.create_group(data.name, data.description, user.id)), 201


@endpoint(
    bp,
    "/groups/<int:group_id>",
    "PATCH",
    roles=STAFF_ROLES,
    summary="Rename a group or change its description; audited",
    body=GroupPatch,
    reply=GroupReply,
)
def update_group(user: User, group_id: int, data: Body) -> GroupReply:
    sent = data.model_fields_set
    name = getattr(data, "name", None) if "name" in sent else None
    description = (getattr(data, "description", None) or "") if "description" in sent else None
    return _group_reply(groups.rename_group(group_id, name, description, user.id))


@endpoint(
    bp,
    "/groups/<int:group_id>/delete",
    "POST",
    roles=STAFF_ROLES,
    summary="Delete a group (members stay advocates); 409 invalid_state while a challenge targets it",
    reply=GroupReply,
)
def delete_group(user: User, group_id: int) -> GroupReply:
    reply = _group_reply(_existing_group(group_id))
    groups.delete_group(group_id, user.id)
    return reply


def _existing_group(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None:
        raise NotFound("Group not found.")
    return group


@endpoint(
    bp,
    "/groups/<int:group_id>/members",
    "POST",
    roles=STAFF_ROLES,
    summary="Add every advocate the advocates list shows for the filters to the group (at most 5,000)",
    body=GroupMembersBody,
    reply=GroupMembersReply,
)
def add_group_members(user: User, group_id: int, data: GroupMembersBody) -> GroupMembersReply:
    _existing_group(group_id)
    filter_group = None
    if data.group:
        filter_group = accounts.group_by_name(data.group)
        if filter_group is None:
            raise ValidationFailed({"group": f"There is no group “{data.group}”."})
    added, already = groups.add_filtered(
        group_id,
        user.id,
        utcnow(),
        q=data.q,
        tier=data.tier,
        group_id=filter_group.id if filter_group else None,
        persona=data.persona,
        last_active=data.last_active,
        burnout=data.burnout,
        trust_below=data.trust_below,
    )
    return GroupMembersReply(added=added, already=already)
