"""The bus contract, run against every bus: the in-process one and Redis pub/sub.

A frame published to a member reaches every live subscription of that member, in publish
order, and nobody else; after unsubscribing nothing more arrives; a bus that may have lost
frames says RESYNC.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import orjson
import pytest
import redis.asyncio as aioredis

from rapport.bus import RESYNC, Batch, Bus, Subscription
from rapport.bus.base import QUEUE_LIMIT, RESET
from rapport.bus.memory import MemoryBus
from rapport.bus.redis import RedisBus

TIMEOUT = 5.0


def frame(n: int, **extra: object) -> bytes:
    return orjson.dumps({"seq": n, "type": "message.new", **extra})


async def settle(bus: Bus, *member_ids: int, subscribed: bool = True) -> None:
    """Wait until the broker knows of the (un)subscriptions, so a publish cannot race them.

    The in-process bus registers synchronously; Redis confirms asynchronously."""
    if not isinstance(bus, RedisBus):
        return
    assert bus._publisher is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        counts = dict(await bus._publisher.pubsub_numsub(*(bus.channel(m) for m in member_ids)))
        if all((counts.get(bus.channel(m).encode(), 0) > 0) == subscribed for m in member_ids):
            return
        assert loop.time() < deadline, f"Redis never reported subscribed={subscribed}: {counts}"
        await asyncio.sleep(0.01)


async def receive(sub: Subscription, count: int = 1) -> list[bytes]:
    return [await asyncio.wait_for(sub.get(), TIMEOUT) for _ in range(count)]


async def test_a_subscriber_receives_frames_published_to_its_member(bus: Bus, member_ids: Callable[[], int]) -> None:
    alice = member_ids()
    async with bus.subscribe(alice) as sub:
        await settle(bus, alice)
        await bus.publish([(alice, frame(1))])
        assert await receive(sub) == [frame(1)]
        assert sub.get_nowait() is None


async def test_every_subscription_of_a_member_gets_every_frame(bus: Bus, member_ids: Callable[[], int]) -> None:
    alice = member_ids()
    frames = [frame(n) for n in range(1, 6)]
    async with bus.subscribe(alice) as phone, bus.subscribe(alice) as laptop, bus.subscribe(alice) as tablet:
        await settle(bus, alice)
        await bus.publish((alice, f) for f in frames)
        for sub in (phone, laptop, tablet):
            assert await receive(sub, len(frames)) == frames


async def test_frames_arrive_in_publish_order(bus: Bus, member_ids: Callable[[], int]) -> None:
    alice, bob = member_ids(), member_ids()
    async with bus.subscribe(alice) as a, bus.subscribe(bob) as b:
        await settle(bus, alice, bob)
        # One large batch, interleaved between members, then many single publishes.
        await bus.publish((member, frame(n)) for n in range(1, 301) for member in (alice, bob))
        for n in range(301, 401):
            await bus.publish([(alice, frame(n)), (bob, frame(n))])
        expected = [frame(n) for n in range(1, 401)]
        assert await receive(a, 400) == expected
        assert await receive(b, 400) == expected


async def test_frames_for_other_members_are_not_delivered(bus: Bus, member_ids: Callable[[], int]) -> None:
    alice, bob, carol = member_ids(), member_ids(), member_ids()
    async with bus.subscribe(alice) as a, bus.subscribe(bob) as b:
        await settle(bus, alice, bob)
        await bus.publish([(bob, frame(1, to="bob")), (carol, frame(1, to="carol"))])
        # Frames are ordered, so once the marker arrives, anything misrouted would be ahead.
        await bus.publish([(alice, frame(2, marker=True))])
        assert await receive(a) == [frame(2, marker=True)]
        assert a.get_nowait() is None
        assert await receive(b) == [frame(1, to="bob")]
        assert b.get_nowait() is None


async def test_nothing_arrives_after_unsubscribing(bus: Bus, member_ids: Callable[[], int]) -> None:
    alice = member_ids()
    async with bus.subscribe(alice) as staying:
        async with bus.subscribe(alice) as leaving:
            await settle(bus, alice)
            await bus.publish([(alice, frame(1))])
            assert await receive(leaving) == [frame(1)]
        # One device left; the other still gets everything.
        await bus.publish([(alice, frame(2))])
        assert await receive(staying, 2) == [frame(1), frame(2)]
        assert leaving.get_nowait() is None
    await settle(bus, alice, subscribed=False)
    await bus.publish([(alice, frame(3))])
    async with bus.subscribe(alice) as later:
        await settle(bus, alice)
        await bus.publish([(alice, frame(4))])
        # A new subscription starts from now: frame 3 went to nobody.
        assert await receive(later) == [frame(4)]
    assert staying.get_nowait() is None
    assert leaving.get_nowait() is None


def one(member_id: int, seq: int) -> Batch:
    return Batch(orjson.dumps({"type": "message.new"}), [(member_id, seq)])


async def test_a_batch_gives_each_member_its_own_seq_and_nobody_else_anything(
    bus: Bus, member_ids: Callable[[], int]
) -> None:
    """One body for many members (a group chat message): small batches and big ones (which
    Redis sends as one message every process hears), in order with single frames."""
    members = [member_ids() for _ in range(12)]
    outsider = member_ids()
    listening = members[:3]
    async with (
        bus.subscribe(listening[0]) as a,
        bus.subscribe(listening[1]) as b1,
        bus.subscribe(listening[1]) as b2,
        bus.subscribe(listening[2]) as c,
        bus.subscribe(outsider) as x,
    ):
        await settle(bus, *listening, outsider)
        shown = orjson.dumps({"type": "message.new", "text": "hi, all"})
        big = Batch(shown, [(m, 40 + i) for i, m in enumerate(members)])
        small = Batch(shown, [(listening[0], 99), (listening[2], 7)])
        live = Batch(orjson.dumps({"type": "typing"}), [(m, None) for m in members])
        await bus.publish([(listening[0], frame(1))])
        await bus.publish_batches([big, small, live])
        await bus.publish([(listening[0], frame(100))])
        typing = b'{"seq":null,"type":"typing"}'
        assert await receive(a, 5) == [
            frame(1),
            b'{"seq":40,"type":"message.new","text":"hi, all"}',
            b'{"seq":99,"type":"message.new","text":"hi, all"}',
            typing,
            frame(100),
        ]
        for sub in (b1, b2):
            assert await receive(sub, 2) == [b'{"seq":41,"type":"message.new","text":"hi, all"}', typing]
        assert await receive(c, 3) == [
            b'{"seq":42,"type":"message.new","text":"hi, all"}',
            b'{"seq":7,"type":"message.new","text":"hi, all"}',
            typing,
        ]
        await bus.publish([(outsider, frame(5))])  # ordered: anything misrouted would come first
        assert await receive(x) == [frame(5)]
        for sub in (a, b1, b2, c, x):
            assert sub.get_nowait() is None


async def test_reserved_batches_leave_in_reservation_order(bus: Bus, member_ids: Callable[[], int]) -> None:
    """A batch handed over before an earlier reservation waits for it; a reservation handed
    back empty (its transaction rolled back) lets the later ones go."""
    alice = member_ids()
    async with bus.subscribe(alice) as sub:
        await settle(bus, alice)
        first, second, third = bus.reserve(), bus.reserve(), bus.reserve()
        await bus.publish_reserved(third, [one(alice, 2)])
        await bus.publish_reserved(second, [one(alice, 1)])
        await asyncio.sleep(0.05)
        assert sub.get_nowait() is None  # both wait for the first
        await bus.publish_reserved(first, ())  # rolled back: nothing of its own
        assert await receive(sub, 2) == [frame(1), frame(2)]
        await bus.publish_reserved(bus.reserve(), [one(alice, 3)])
        assert await receive(sub) == [frame(3)]


async def test_publishing_nothing_is_fine(bus: Bus, member_ids: Callable[[], int]) -> None:
    alice = member_ids()
    async with bus.subscribe(alice) as sub:
        await bus.publish([])
        assert sub.get_nowait() is None


class Heard:
    """A control handler that remembers what it was given, and can be waited on."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []
        self._changed = asyncio.Event()

    def __call__(self, message: dict[str, object]) -> None:
        self.messages.append(message)
        self._changed.set()

    async def until(self, message: dict[str, object]) -> None:
        async with asyncio.timeout(TIMEOUT):
            while message not in self.messages:
                self._changed.clear()
                await self._changed.wait()


async def test_a_control_message_reaches_every_handler_of_the_publishing_process(bus: Bus) -> None:
    first, second = Heard(), Heard()
    bus.on_control(first)
    bus.on_control(second)
    message = {"type": "revoke", "member_id": secrets.randbelow(10**9), "token": None}
    await bus.publish_control(message)
    await first.until(message)
    await second.until(message)


@pytest.mark.redis
async def test_a_control_message_reaches_every_process_on_redis(redis_url: str) -> None:
    """What makes revocation work across processes: B hears what A says, and A hears itself."""
    namespace = f"rapport-test-{secrets.token_hex(6)}"
    a, b = RedisBus(redis_url, namespace=namespace), RedisBus(redis_url, namespace=namespace)
    elsewhere = RedisBus(redis_url, namespace=namespace + "-other")
    heard = {"a": Heard(), "b": Heard(), "elsewhere": Heard()}
    a.on_control(heard["a"])
    b.on_control(heard["b"])
    elsewhere.on_control(heard["elsewhere"])
    for each in (a, b, elsewhere):
        await each.start()
    try:
        message = {"type": "forget", "member_id": 7}
        await a.publish_control(message)
        await heard["a"].until(message)
        await heard["b"].until(message)
        assert heard["elsewhere"].messages == []  # another network on the same Redis hears nothing
    finally:
        for each in (a, b, elsewhere):
            await each.close()


@pytest.mark.redis
async def test_a_big_batch_reaches_every_process_on_redis(redis_url: str, member_ids: Callable[[], int]) -> None:
    """A group chat's batch goes out as one message that every process hears; each delivers
    to its own sockets only, and another network on the same Redis hears nothing."""
    namespace = f"rapport-test-{secrets.token_hex(6)}"
    a, b = RedisBus(redis_url, namespace=namespace), RedisBus(redis_url, namespace=namespace)
    elsewhere = RedisBus(redis_url, namespace=namespace + "-other")
    for each in (a, b, elsewhere):
        await each.start()
    try:
        members = [member_ids() for _ in range(10)]
        async with (
            a.subscribe(members[0]) as on_a,
            b.subscribe(members[1]) as on_b,
            elsewhere.subscribe(members[1]) as x,
        ):
            await settle(a, members[0])
            await settle(b, members[1])
            await a.publish_batches([Batch(orjson.dumps({"type": "message.new"}), [(m, 5) for m in members])])
            assert await receive(on_a) == [frame(5)]
            assert await receive(on_b) == [frame(5)]
            await elsewhere.publish([(members[1], frame(6))])  # ordered: a stray batch frame would come first
            assert await receive(x) == [frame(6)]
    finally:
        for each in (a, b, elsewhere):
            await each.close()


async def test_a_control_handler_that_fails_does_not_stop_the_others() -> None:
    bus = MemoryBus()
    seen: list[dict[str, object]] = []

    def broken(_: dict[str, object]) -> None:
        raise RuntimeError("boom")

    bus.on_control(broken)
    bus.on_control(seen.append)
    await bus.publish_control({"type": "forget", "member_id": 1})
    bus._dispatch_control(b"not json")
    bus._dispatch_control(b"[1, 2]")
    assert seen == [{"type": "forget", "member_id": 1}]


async def test_the_memory_bus_rejects_a_frame_that_is_not_json(
    member_ids: Callable[[], int],
) -> None:
    bus = MemoryBus()
    alice = member_ids()
    async with bus.subscribe(alice) as sub:
        with pytest.raises(orjson.JSONDecodeError):
            await bus.publish([(alice, b'{"seq":1,')])
        with pytest.raises(orjson.JSONDecodeError):
            await bus.publish([(alice, b"not json")])
        assert sub.get_nowait() is None
        await bus.publish([(alice, frame(1))])
        assert await receive(sub) == [frame(1)]


@pytest.mark.redis
async def test_the_redis_bus_reconnects_and_tells_subscribers_to_resync(
    redis_url: str, redis_client_name: str, member_ids: Callable[[], int]
) -> None:
    alice, bob = member_ids(), member_ids()
    bus = RedisBus(f"{redis_url}?client_name={redis_client_name}", max_backoff=0.2)
    admin = aioredis.from_url(redis_url)
    controls: list[dict[str, object]] = []
    bus.on_control(controls.append)
    await bus.start()
    try:
        async with bus.subscribe(alice) as a1, bus.subscribe(alice) as a2, bus.subscribe(bob) as b:
            await settle(bus, alice, bob)
            await bus.publish([(alice, frame(1)), (bob, frame(1))])
            assert await receive(a1) == await receive(a2) == await receive(b) == [frame(1)]

            killed = await kill_pubsub_connections(admin, redis_client_name)
            assert killed == 1

            # Frames may have been lost while disconnected: every local subscriber is told.
            for sub in (a1, a2, b):
                assert await receive(sub) == [RESYNC]
            # Control messages may have been lost too: the handlers are told to reset.
            assert RESET in controls
            # Re-subscribed to every member with a local subscription; live frames flow again.
            await settle(bus, alice, bob)
            await bus.publish([(alice, frame(2)), (bob, frame(2))])
            # The channel that big batches use is heard again too.
            crowd = [(alice, 3), (bob, 3), *((member_ids(), 3) for _ in range(10))]
            await bus.publish_batches([Batch(orjson.dumps({"type": "message.new"}), crowd)])
            for sub in (a1, a2, b):
                assert await receive(sub, 2) == [frame(2), frame(3)]
                assert sub.get_nowait() is None
    finally:
        await bus.close()
        await admin.aclose()


async def kill_pubsub_connections(admin: aioredis.Redis, client_name: str) -> int:
    """Kill only this test's pub/sub connections: other test runs may share the server."""
    killed = 0
    for client in await admin.client_list(_type="pubsub"):
        if client.get("name") == client_name:
            killed += int(await admin.client_kill_filter(_id=client["id"]))
    return killed


async def test_a_subscriber_too_slow_to_keep_up_gets_one_resync_then_frames_again() -> None:
    """Overflow drops the backlog for one RESYNC (the log has it all); draining the RESYNC,
    by either `get` or `get_nowait`, makes the subscription deliver again. A listener is
    woken for each frame that is queued, and not for the ones dropped."""
    sub = Subscription(1)
    wakes: list[None] = []
    sub.listener = lambda: wakes.append(None)
    for i in range(QUEUE_LIMIT + 5):
        sub.deliver(b'{"seq":%d}' % (i + 1))
    assert sub.get_nowait() == RESYNC
    assert sub.get_nowait() is None
    assert len(wakes) == QUEUE_LIMIT + 1  # every queued frame, then the RESYNC
    sub.deliver(b'{"seq":9999}')
    assert sub.get_nowait() == b'{"seq":9999}'
    assert len(wakes) == QUEUE_LIMIT + 2


def test_a_subscription_holds_at_most_its_byte_budget() -> None:
    """Frames are counted in bytes, not only in number: a reader more than `byte_limit`
    bytes behind loses what was queued for a RESYNC and is marked overflowed."""
    big = b'{"seq":1,"pad":"' + b"x" * 180 + b'"}'
    sub = Subscription(1, byte_limit=5 * len(big))
    for _ in range(4):
        sub.deliver(big)
    for _ in range(4):  # read as fast as it comes: the budget is never reached
        assert sub.get_nowait() == big
    for _ in range(5):
        sub.deliver(big)
    assert not sub.overflowed
    sub.deliver(big)  # one byte past the budget
    assert sub.overflowed
    assert sub.get_nowait() == RESYNC
    assert sub.get_nowait() is None
