"""Group membership rules: joining, requests, roles and leaving (domain/groups.py)."""

from __future__ import annotations

import pytest

from rapport.domain.groups import MembershipState, join_state, may_change_role, may_handle_requests, may_leave
from rapport.domain.model import GroupRole, GroupVisibility


def test_joining_an_open_group_makes_a_member() -> None:
    assert join_state(GroupVisibility.OPEN) is MembershipState.MEMBER


def test_joining_a_request_group_files_a_request() -> None:
    assert join_state(GroupVisibility.REQUEST) is MembershipState.REQUESTED


@pytest.mark.parametrize("role", [GroupRole.ADMIN, GroupRole.MANAGER])
def test_admins_and_managers_handle_requests(role: GroupRole) -> None:
    assert may_handle_requests(role) is None


@pytest.mark.parametrize("role", [GroupRole.MEMBER, None])
def test_members_and_outsiders_do_not_handle_requests(role: GroupRole | None) -> None:
    refusal = may_handle_requests(role)
    assert refusal is not None and refusal.reason == "group_manager_required"


def test_the_last_admin_may_not_leave_others_behind() -> None:
    refusal = may_leave(role=GroupRole.ADMIN, other_admins=0, other_members=3)
    assert refusal is not None and refusal.reason == "last_admin"


def test_an_admin_leaves_once_another_admin_is_named() -> None:
    assert may_leave(role=GroupRole.ADMIN, other_admins=1, other_members=3) is None


def test_the_last_member_may_leave_even_as_admin() -> None:
    assert may_leave(role=GroupRole.ADMIN, other_admins=0, other_members=0) is None


@pytest.mark.parametrize("role", [GroupRole.MEMBER, GroupRole.MANAGER])
def test_members_and_managers_leave_freely(role: GroupRole) -> None:
    assert may_leave(role=role, other_admins=0, other_members=5) is None


@pytest.mark.parametrize("actor", [GroupRole.MEMBER, GroupRole.MANAGER, None])
def test_only_admins_change_roles(actor: GroupRole | None) -> None:
    refusal = may_change_role(actor=actor, target_is_actor=False, new_role=GroupRole.MANAGER, other_admins=1)
    assert refusal is not None and refusal.reason == "group_admin_required"


def test_an_admin_names_managers_and_admins() -> None:
    assert (
        may_change_role(actor=GroupRole.ADMIN, target_is_actor=False, new_role=GroupRole.ADMIN, other_admins=0) is None
    )


def test_the_last_admin_may_not_step_down() -> None:
    refusal = may_change_role(actor=GroupRole.ADMIN, target_is_actor=True, new_role=GroupRole.MEMBER, other_admins=0)
    assert refusal is not None and refusal.reason == "last_admin"


def test_an_admin_steps_down_when_another_remains() -> None:
    assert (
        may_change_role(actor=GroupRole.ADMIN, target_is_actor=True, new_role=GroupRole.MEMBER, other_admins=1) is None
    )
