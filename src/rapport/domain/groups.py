"""Group membership rules (DESIGN §2 "Groups"): joining, join requests, roles and leaving.

- Joining an `open` group makes one a member at once; joining a `request` group files a
  request that the group's admins and managers see, approve or decline.
- Only admins and managers handle requests; only admins name managers and admins.
- A group always keeps an admin while it has members: the last admin may not leave, nor
  step down, before naming another admin.
"""

from __future__ import annotations

from enum import StrEnum

from rapport.domain.model import GroupRole, GroupVisibility
from rapport.domain.policy import Refusal


class MembershipState(StrEnum):
    MEMBER = "member"
    REQUESTED = "requested"


def join_state(visibility: GroupVisibility) -> MembershipState:
    """What a join does: membership at once in an open group, a request otherwise."""
    return MembershipState.MEMBER if visibility is GroupVisibility.OPEN else MembershipState.REQUESTED


def may_handle_requests(role: GroupRole | None) -> Refusal | None:
    """Admins and managers list, approve and decline join requests."""
    if role is None or not role.may_manage_requests:
        return Refusal("group_manager_required", "Only a group's admins and managers handle join requests.")
    return None


def may_leave(*, role: GroupRole, other_admins: int, other_members: int) -> Refusal | None:
    """Anyone may leave, except the last admin of a group that still has other members."""
    if role is GroupRole.ADMIN and other_admins == 0 and other_members > 0:
        return Refusal("last_admin", "Name another admin before you leave the group.")
    return None


def may_change_role(
    *, actor: GroupRole | None, target_is_actor: bool, new_role: GroupRole, other_admins: int
) -> Refusal | None:
    """Only admins change roles; the last admin may not step down."""
    if actor is not GroupRole.ADMIN:
        return Refusal("group_admin_required", "Only a group's admins may change roles.")
    if target_is_actor and new_role is not GroupRole.ADMIN and other_admins == 0:
        return Refusal("last_admin", "Name another admin before you step down.")
    return None
