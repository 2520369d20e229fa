"""`glassdesk worker`: build services, run the worker loop and the reconciler until a signal arrives."""

from __future__ import annotations

import asyncio
import logging

from flows.bootstrap import open_services
from flows.reconciler import Reconciler
from flows.settings import Settings, configure_logging
from flows.worker import TurnWorker

__all__ = ["serve_worker"]


async def serve_worker(settings: Settings, stop: asyncio.Event) -> None:
    configure_logging(settings)
    from flows.turn_runner import TurnRunner

    async with open_services(settings) as services:
        runner = await TurnRunner.create(services)
        worker = TurnWorker(services, runner.handle_batch)
        logging.getLogger("glassdesk.worker").info("worker %s consuming %s", worker.name, services.queue.stream)
        # In the background: re-queue turns whose queue entry was lost, flag sends left unsure.
        reconciler = asyncio.create_task(Reconciler(services).run(stop), name="glassdesk-reconciler")
        try:
            await worker.run(stop)
        finally:
            if not reconciler.done():
                reconciler.cancel()  # stops between two queries; every step is its own transaction
            await asyncio.gather(reconciler, return_exceptions=True)
