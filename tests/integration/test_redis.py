"""Streams, locks, pub/sub and rate limits against a real Redis server."""

from __future__ import annotations

import asyncio

import pytest

from conversation import LockNotAcquired, TurnRef
from conversation.rediskit import RedisConversationLocks, RedisLiveBus, RedisRateLimiter, RedisTurnQueue


async def test_entry_of_a_dead_consumer_is_redelivered_to_another(redis_client) -> None:  # type: ignore[no-untyped-def]
    queue = RedisTurnQueue(redis_client, min_idle_ms=50)
    await queue.enqueue(TurnRef(message_id="msg_a", conversation_id="cv_a"))
    first = await queue.read("worker-1", count=10, block_ms=100)
    assert [d.ref.message_id for d in first] == ["msg_a"]
    # worker-1 dies without XACK. Nothing new is there for worker-2 until the entry goes idle.
    await asyncio.sleep(0.12)
    second = await queue.read("worker-2", count=10, block_ms=100)
    assert [d.ref.message_id for d in second] == ["msg_a"]
    assert second[0].deliveries == 2
    await queue.ack(second[0].entry_id)
    await asyncio.sleep(0.12)
    assert await queue.read("worker-3", count=10, block_ms=50) == []


async def test_a_lost_consumer_group_is_recreated_and_nothing_is_missed(redis_client) -> None:  # type: ignore[no-untyped-def]
    queue = RedisTurnQueue(redis_client, min_idle_ms=60_000)
    await queue.enqueue(TurnRef(message_id="msg_before", conversation_id="cv_g"))
    assert [d.ref.message_id for d in await queue.read("w1", count=5, block_ms=50)] == ["msg_before"]
    await redis_client.flushdb()  # Redis restarted empty: the stream and its group are gone
    await queue.enqueue(TurnRef(message_id="msg_after", conversation_id="cv_g"))  # XADD makes a stream without group
    got = await queue.read("w1", count=5, block_ms=50)
    assert [d.ref.message_id for d in got] == ["msg_after"]


async def test_acked_entry_is_not_redelivered(redis_client) -> None:  # type: ignore[no-untyped-def]
    queue = RedisTurnQueue(redis_client, min_idle_ms=10)
    await queue.enqueue(TurnRef(message_id="msg_b", conversation_id="cv_b"))
    (d,) = await queue.read("w1", count=1, block_ms=100)
    await queue.ack(d.entry_id)
    await asyncio.sleep(0.05)
    assert await queue.read("w2", count=1, block_ms=50) == []
    assert (await queue.depth())["pending"] == 0


async def test_poison_message_lands_in_dead_letter_stream(redis_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from runtime.worker import TurnWorker
    from services.settings import Settings

    settings = Settings(var_dir=tmp_path, turn_max_deliveries=3, turn_min_idle_ms=1)
    queue = RedisTurnQueue(redis_client, min_idle_ms=1)
    attempts: dict[str, int] = {}

    async def handler(batch):  # type: ignore[no-untyped-def]
        out = {}
        for d in batch:
            attempts[d.ref.message_id] = attempts.get(d.ref.message_id, 0) + 1
            out[d.entry_id] = RuntimeError("boom") if d.ref.message_id == "msg_poison" else None
        return out

    worker = TurnWorker(settings, queue, redis_client, handler, name="w")
    await queue.enqueue(TurnRef(message_id="msg_poison", conversation_id="cv_p"))
    await queue.enqueue(TurnRef(message_id="msg_ok", conversation_id="cv_o"))
    for _ in range(8):
        await worker.run_once(block_ms=20)
        await asyncio.sleep(0.01)
    dead = await queue.dead_letters()
    assert [d["message_id"] for d in dead] == ["msg_poison"]
    assert attempts["msg_poison"] == 3
    assert attempts["msg_ok"] == 1
    assert (await queue.depth())["pending"] == 0


async def test_two_workers_never_hold_one_conversation(redis_client) -> None:  # type: ignore[no-untyped-def]
    locks = RedisConversationLocks(redis_client)
    inside = 0
    overlaps = 0
    order: list[int] = []

    async def work(i: int) -> None:
        nonlocal inside, overlaps
        async with locks.hold("cv_x", timeout_s=5, wait_s=5):
            inside += 1
            overlaps += inside > 1
            order.append(i)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(work(i) for i in range(10)))
    assert overlaps == 0 and sorted(order) == list(range(10))


async def test_lock_wait_gives_up_with_clear_error(redis_client) -> None:  # type: ignore[no-untyped-def]
    locks = RedisConversationLocks(redis_client)
    async with locks.hold("cv_y", timeout_s=5, wait_s=1):
        with pytest.raises(LockNotAcquired, match="cv_y"):
            async with locks.hold("cv_y", timeout_s=5, wait_s=0.05):
                pass


async def test_live_bus_delivers_to_conversation_and_global_subscribers(redis_client) -> None:  # type: ignore[no-untyped-def]
    bus = RedisLiveBus(redis_client)
    got_one: list[dict] = []
    got_all: list[dict] = []

    async def listen(cid, sink):  # type: ignore[no-untyped-def]
        async for item in bus.subscribe(cid):
            sink.append(item)
            return

    tasks = [asyncio.create_task(listen("cv_1", got_one)), asyncio.create_task(listen(None, got_all))]
    await asyncio.sleep(0.1)
    await bus.publish("cv_1", {"event": "received"})
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    assert got_one == [{"conversation_id": "cv_1", "event": "received"}]
    assert got_all == got_one


async def test_rate_limit_counts_per_key(redis_client) -> None:  # type: ignore[no-untyped-def]
    limiter = RedisRateLimiter(redis_client)
    allowed = [await limiter.allow("sock1", limit=3, window_s=60) for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    assert await limiter.allow("sock2", limit=3, window_s=60) is True


async def test_many_listeners_share_one_pubsub_connection(redis_client) -> None:  # type: ignore[no-untyped-def]
    """300 chat sockets in one process must not need 300 Redis connections."""
    bus = RedisLiveBus(redis_client)
    before = len(await redis_client.client_list(_type="pubsub"))
    got: dict[str, list[dict]] = {f"cv_{i}": [] for i in range(300)}
    ready = asyncio.Event()

    async def listen(cid: str) -> None:
        async for item in bus.subscribe(cid):
            got[cid].append(item)
            return

    tasks = [asyncio.create_task(listen(cid)) for cid in got]
    async with asyncio.timeout(10):
        while bus.listener_count < 300:
            await asyncio.sleep(0.01)
        while int((await redis_client.pubsub_numsub("gd:live:cv_299"))[0][1]) < 1:
            await asyncio.sleep(0.01)
    ready.set()
    assert len(await redis_client.client_list(_type="pubsub")) - before == 1
    for cid in got:
        await bus.publish(cid, {"event": "sent", "n": cid})
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    assert all(items == [{"conversation_id": cid, "event": "sent", "n": cid}] for cid, items in got.items())
    assert bus.listener_count == 0  # every listener cleaned up after itself
    await bus.aclose()


async def test_listeners_learn_when_the_connection_breaks(redis_client) -> None:  # type: ignore[no-untyped-def]
    from conversation.rediskit import LiveSubscriptionLost

    bus = RedisLiveBus(redis_client)
    errors: list[BaseException] = []

    async def listen() -> None:
        try:
            async for _ in bus.subscribe("cv_x"):
                pass
        except LiveSubscriptionLost as exc:
            errors.append(exc)

    task = asyncio.create_task(listen())
    async with asyncio.timeout(5):
        while bus.listener_count < 1:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
    await redis_client.client_kill_filter(_type="pubsub")  # the server drops the subscriber connection
    await asyncio.wait_for(task, timeout=10)
    assert len(errors) == 1
    # a new subscription works again
    got: list[dict] = []

    async def again() -> None:
        async for item in bus.subscribe("cv_x"):
            got.append(item)
            return

    retry = asyncio.create_task(again())
    async with asyncio.timeout(5):
        while int((await redis_client.pubsub_numsub("gd:live:cv_x"))[0][1]) < 1:
            await asyncio.sleep(0.01)
    await bus.publish("cv_x", {"event": "sent"})
    await asyncio.wait_for(retry, timeout=5)
    assert got and got[0]["event"] == "sent"
    await bus.aclose()


async def test_a_new_turn_does_not_wait_behind_a_running_batch(redis_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from runtime.worker import TurnWorker
    from services.settings import Settings

    settings = Settings(var_dir=tmp_path, turn_parallel_runs=2, turn_batch_max=1)
    queue = RedisTurnQueue(redis_client, min_idle_ms=60_000)
    release_slow = asyncio.Event()
    done: list[str] = []

    async def handler(batch):  # type: ignore[no-untyped-def]
        for d in batch:
            if d.ref.message_id == "msg_slow":
                await release_slow.wait()
            done.append(d.ref.message_id)
        return {d.entry_id: None for d in batch}

    worker = TurnWorker(settings, queue, redis_client, handler, name="w-par")
    stop = asyncio.Event()
    await queue.enqueue(TurnRef(message_id="msg_slow", conversation_id="cv_1"))
    await queue.enqueue(TurnRef(message_id="msg_fast", conversation_id="cv_2"))
    running = asyncio.create_task(worker.run(stop))
    async with asyncio.timeout(10):
        while "msg_fast" not in done:
            await asyncio.sleep(0.01)
    assert done == ["msg_fast"]  # finished while the slow batch was still in flight
    stop.set()
    release_slow.set()
    await asyncio.wait_for(running, timeout=10)
    assert done == ["msg_fast", "msg_slow"]  # stopping waits for the batch in flight, which is acked
    assert (await queue.depth())["pending"] == 0


async def test_rate_limit_window_slides_instead_of_resetting_on_the_clock(redis_client) -> None:  # type: ignore[no-untyped-def]
    import time

    limiter = RedisRateLimiter(redis_client)
    while not 0.55 < time.time() % 2 < 0.7:  # start just past the middle of a 2-second clock window
        await asyncio.sleep(0.01)
    assert [await limiter.allow("login:x", limit=3, window_s=2) for _ in range(3)] == [True, True, True]
    await asyncio.sleep(1.6)  # a new clock window has begun, but the attempts are only 1.6 s old
    assert await limiter.allow("login:x", limit=3, window_s=2) is False
    await asyncio.sleep(2.1)  # now every earlier attempt is older than the window
    assert await limiter.allow("login:x", limit=3, window_s=2) is True
