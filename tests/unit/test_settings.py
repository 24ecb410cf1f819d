"""Configuration from the environment (settings.py)."""

from __future__ import annotations

from rapport.settings import Settings


def test_password_cost_defaults_to_the_production_values() -> None:
    settings = Settings.from_env({})
    assert (settings.password_time_cost, settings.password_memory_cost) == (2, 19_456)


def test_password_cost_may_be_lowered_for_tests_but_not_below_a_floor() -> None:
    cheap = Settings.from_env({"RAPPORT_PASSWORD_TIME_COST": "1", "RAPPORT_PASSWORD_MEMORY_COST": "64"})
    assert (cheap.password_time_cost, cheap.password_memory_cost) == (1, 64)
    floor = Settings.from_env({"RAPPORT_PASSWORD_TIME_COST": "0", "RAPPORT_PASSWORD_MEMORY_COST": "8"})
    assert (floor.password_time_cost, floor.password_memory_cost) == (1, 64)


def test_redis_namespace_keeps_networks_apart_on_one_redis() -> None:
    assert Settings.from_env({}).redis_namespace == "rapport"
    assert Settings.from_env({"RAPPORT_REDIS_NAMESPACE": "staging"}).redis_namespace == "staging"
