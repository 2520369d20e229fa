"""`glassdesk worker`: build services, run the worker loop and the reconciler until a signal arrives."""

from __future__ import annotations

import asyncio
import logging

from runtime.compose import open_container
from runtime.prefect_shutdown import drain_prefect_services
from runtime.worker import worker_for
from services.reconciler import Reconciler
from services.settings import Settings, configure_logging

__all__ = ["serve_worker"]


async def serve_worker(settings: Settings, stop: asyncio.Event) -> None:
    configure_logging(settings)
    from runtime.turn_runner import TurnRunner

    async with open_container(settings) as services:
        runner = await TurnRunner.create(services)
        worker = worker_for(services, runner.handle_batch)
        logging.getLogger("glassdesk.worker").info("worker %s consuming %s", worker.name, services.queue.stream)
        # In the background: re-queue turns whose queue entry was lost, flag sends left unsure.
        reconciler = asyncio.create_task(Reconciler(services).run(stop), name="glassdesk-reconciler")
        try:
            await worker.run(stop)
        finally:
            if not reconciler.done():
                reconciler.cancel()  # stops between two queries; every step is its own transaction
            await asyncio.gather(reconciler, return_exceptions=True)
            await runner.aclose()
            await asyncio.to_thread(drain_prefect_services)
