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


def test_rate_limits_are_on_by_default_and_off_means_off() -> None:
    assert Settings.from_env({}).rate_limits_enabled
    assert not Settings.from_env({"RAPPORT_RATE_LIMITS": "off"}).rate_limits_enabled
    assert Settings.from_env({"RAPPORT_RATE_LIMITS": "on"}).rate_limits_enabled


def test_one_action_s_limits_may_be_overridden() -> None:
    settings = Settings.from_env({"RAPPORT_RATE_LIMIT_SEND": "5 per minute", "RAPPORT_RATE_LIMITS": "on"})
    assert settings.rate_limits == {"send": "5 per minute"}


def test_trusted_proxies_are_a_comma_list() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    proxies = Settings.from_env({"RAPPORT_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16,,"}).trusted_proxies
    assert proxies == ("10.0.0.1", "192.168.0.0/16")


def test_attachments_go_to_s3_only_when_a_bucket_is_named_and_the_secret_is_never_printed() -> None:
    assert Settings.from_env({}).s3_bucket is None
    settings = Settings.from_env(
        {
            "RAPPORT_S3_BUCKET": "files",
            "RAPPORT_S3_ENDPOINT": "http://127.0.0.1:8333",
            "RAPPORT_S3_ACCESS_KEY": "key",
            "RAPPORT_S3_SECRET_KEY": "very-secret",
            "RAPPORT_S3_PREFIX": "/network-a/",
        }
    )
    assert (settings.s3_bucket, settings.s3_endpoint, settings.s3_access_key) == (
        "files",
        "http://127.0.0.1:8333",
        "key",
    )
    assert (settings.s3_region, settings.s3_prefix) == ("us-east-1", "network-a")
    assert Settings.from_env({"RAPPORT_S3_REGION": "eu-west-3"}).s3_region == "eu-west-3"
    assert "very-secret" not in repr(settings)


def test_websocket_pings_every_twenty_seconds_unless_told() -> None:
    from rapport.api.app import ping_options

    assert Settings.from_env({}).ws_ping_seconds == 20
    assert ping_options(Settings.from_env({"RAPPORT_WS_PING_SECONDS": "45"}).ws_ping_seconds) == {
        "ws_ping_interval": 45,
        "ws_ping_timeout": 45,
    }
    assert ping_options(Settings.from_env({"RAPPORT_WS_PING_SECONDS": "0"}).ws_ping_seconds) == {
        "ws_ping_interval": None,
        "ws_ping_timeout": None,
    }


def test_websocket_compression_is_off_unless_turned_on() -> None:
    from rapport.api.app import compression_options

    assert Settings.from_env({}).ws_compression is False
    assert compression_options(Settings.from_env({}).ws_compression) == {"ws_per_message_deflate": False}
    assert compression_options(Settings.from_env({"RAPPORT_WS_COMPRESSION": "on"}).ws_compression) == {
        "ws_per_message_deflate": True
    }
