"""`glassdesk worker` runs the reconciler: a turn whose queue entry was lost (Redis restarted empty)
still runs, and the worker with its reconciler stops cleanly on the stop signal."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from conversation import ChannelKind, ChatSession, ConversationStatus, InboundMessage
from conversation.sql.timeline import TURN_DONE_EVENTS
from runtime.compose import open_container
from runtime.serve_worker import serve_worker
from services.ingest import Ingestor
from services.settings import Settings


async def test_a_turn_lost_with_redis_runs_after_the_reconciler_requeues_it(
    prefect_harness: str,
    demo_var: Path,
    redis_url: str,
    tmp_path: Path,
    mail_relay,  # type: ignore[no-untyped-def]
) -> None:
    var = tmp_path / "var"
    shutil.copytree(demo_var, var)
    port, _folder = mail_relay
    settings = Settings(
        var_dir=var,
        redis_url=redis_url,
        relay_port=port,
        prefect_api_url=prefect_harness,
        reconcile_interval_s=0.2,
        reconcile_turn_age_s=0,
    )
    async with open_container(settings, migrate=False) as services:
        await services.redis.flushdb()
        res = await Ingestor(services).accept(
            InboundMessage(
                channel=ChannelKind.CHAT,
                external_id="00000000-0000-4000-8000-0000000000bb",
                address=ChatSession(session_id="session-lost-turn"),
                text="I want to talk to a person",
            )
        )
        await services.redis.flushdb()  # Redis restarted without its data: the queue entry is gone
        message_id = res.message.id

        stop = asyncio.Event()
        worker = asyncio.create_task(serve_worker(settings, stop))
        try:
            deadline = time.monotonic() + 90
            while not await services.timeline.has_event(causation_id=message_id, types=TURN_DONE_EVENTS):
                assert not worker.done(), worker.exception()
                assert time.monotonic() < deadline, "the lost turn never ran"
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await asyncio.wait_for(worker, timeout=30)  # the worker and its reconciler stop cleanly

        record = await services.timeline.decision_for(message_id)
        assert record is not None
        conv = await services.messages.get_conversation(res.conversation.id)
        assert conv.status is ConversationStatus.HANDED_OFF
        await services.redis.flushdb()
