"""Degree of connection (DESIGN §1): 1st, 2nd, 3rd+, nothing for oneself."""

from __future__ import annotations

import pytest

from rapport.domain.degree import degree


@pytest.mark.parametrize(("connected", "mutual"), [(True, True), (False, False)])
def test_looking_at_oneself_has_no_degree(connected: bool, mutual: bool) -> None:
    assert degree(is_self=True, connected=connected, mutual=mutual) is None


@pytest.mark.parametrize("mutual", [True, False])
def test_connection_is_first_degree_whatever_mutual_connections_exist(mutual: bool) -> None:
    assert degree(is_self=False, connected=True, mutual=mutual) == 1


def test_member_with_a_mutual_connection_is_second_degree() -> None:
    assert degree(is_self=False, connected=False, mutual=True) == 2


def test_everyone_further_is_third_degree_or_more() -> None:
    assert degree(is_self=False, connected=False, mutual=False) == 3
