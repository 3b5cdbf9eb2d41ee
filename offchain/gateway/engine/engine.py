"""One decode loop per base model: a thread that owns the model, a bounded queue in front.

Why it cannot deadlock: nothing but the engine thread touches the model, and the engine
thread never waits on a request. Requests are appended to the waiting queue (at most
``max_waiting`` beyond the free places of the running batch; beyond that
:meth:`Engine.submit` raises
:class:`EngineOverloadedError` at once, which the gateway answers with 503 and
``Retry-After``) and receive their events through a :class:`~.sinks.Sink`, which never
blocks. A client that leaves cancels its sink; the loop drops the row before its next step.

The loop: while anything runs or waits, admit waiting requests up to ``max_batch_size``
running rows (prefilled together and merged into the batch), then run one batch step (one
token for every running row). With nothing to do it sleeps on a condition variable.
A failing forward (out of memory, a broken model) ends every row of the batch with an error
event and the loop goes on with an empty batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from offchain.gateway.engine.batch import Batch, Row
from offchain.gateway.engine.lora import LoraBank
from offchain.gateway.engine.sampling import SamplingParams
from offchain.gateway.engine.sinks import EngineEvent, Sink
from offchain.gateway.errors import GatewayError, GeneratorError
from offchain.logging import kv

logger = logging.getLogger(__name__)

StatsHook = Callable[[str, int, int], None]


class EngineOverloadedError(GatewayError):
    """The engine's waiting queue is full; retry after :attr:`retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class EngineStats:
    waiting: int
    running: int
    max_batch_size: int
    max_waiting: int
    alive: bool
    steps: int
    tokens: int


class Engine:
    def __init__(
        self,
        name: str,
        model: Any,
        tokenizer: Any,
        bank: LoraBank,
        *,
        device: str,
        max_batch_size: int = 32,
        max_waiting: int = 256,
        on_stats: StatsHook | None = None,
    ) -> None:
        self.name = name
        self.tokenizer = tokenizer
        self.bank = bank
        self.max_context = int(getattr(model.config, "max_position_embeddings", 2048))
        self.max_batch_size = max_batch_size
        self.max_waiting = max_waiting
        self._batch = Batch(model, tokenizer, bank, device=device)
        self._waiting: deque[Row] = deque()
        self._cond = threading.Condition()
        self._step_lock = threading.Lock()  # held by the loop during a step; adapters wait
        self._closed = False
        self._thread: threading.Thread | None = None
        self._on_stats = on_stats
        self._steps = 0
        self._tokens = 0
        self._request_s = 1.0  # moving average of a request's time in the engine

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"engine-{self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
            self._cond.notify_all()
        for row in waiting:
            row.sink.push(EngineEvent("", error="the gateway is shutting down"))
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._closed

    def stats(self) -> EngineStats:
        with self._cond:
            waiting = len(self._waiting)
        return EngineStats(
            waiting=waiting,
            running=len(self._batch.rows),
            max_batch_size=self.max_batch_size,
            max_waiting=self.max_waiting,
            alive=self.alive,
            steps=self._steps,
            tokens=self._tokens,
        )

    def add_adapter(self, adapter: str, state: dict[str, torch.Tensor]) -> None:
        """Load (or replace) an adapter between two steps of the loop."""
        with self._step_lock:
            self.bank.add(adapter, state)

    # -- requests ----------------------------------------------------------------------------

    def submit(
        self,
        prompt_ids: list[int],
        params: SamplingParams,
        *,
        adapter: str | None,
        sink: Sink,
        budget: int,
    ) -> None:
        """Queue a request; its events go to ``sink``.

        Raises:
            EngineOverloadedError: ``max_waiting`` requests are already waiting.
            GeneratorError: the engine is closed or its loop died.
        """
        row = Row(prompt_ids, params, sink, self.bank.slot_of(adapter), budget)
        with self._cond:
            if self._closed or self._thread is None or not self._thread.is_alive():
                raise GeneratorError(f"the engine of model '{self.name}' is not running.")
            free = max(0, self.max_batch_size - len(self._batch.rows))  # joins next step
            if len(self._waiting) >= self.max_waiting + free:
                retry = max(1.0, self._request_s * len(self._waiting) / max(1, self.max_batch_size))
                raise EngineOverloadedError(
                    f"Model '{self.name}' has {len(self._waiting)} requests waiting, its "
                    f"limit; retry in {retry:.0f} s.",
                    retry,
                )
            self._waiting.append(row)
            self._cond.notify()
        self._report()

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        logger.info("engine started", extra=kv(model=self.name))
        while True:
            with self._cond:
                while not self._closed and not self._waiting and not self._batch.rows:
                    self._cond.wait()
                if self._closed:
                    break
                room = self.max_batch_size - len(self._batch.rows)
                new: list[Row] = []
                while self._waiting and len(new) < room:
                    row = self._waiting.popleft()
                    if not row.sink.cancelled:
                        new.append(row)
            with self._step_lock:
                self._step(new)
            self._report()
            time.sleep(0)  # hand the GIL to the event loop: it sends what this step made
        for row in self._batch.rows:
            row.sink.push(EngineEvent("", error="the gateway is shutting down"))
        self._batch.reset()
        logger.info("engine stopped", extra=kv(model=self.name))

    def _step(self, new: list[Row]) -> None:
        before = {id(r) for r in self._batch.rows} | {id(r) for r in new}
        rows = self._batch.rows + new
        try:
            self._batch.drop_cancelled()
            self._batch.admit(new)
            self._batch.step()
        except Exception as err:  # the model failed: every row of the batch ends with it
            logger.exception("engine step failed", extra=kv(model=self.name))
            for row in rows:
                row.sink.push(EngineEvent("", error=f"local generation failed: {err}"))
            self._batch.reset()
            if self._batch.device.startswith("cuda"):
                torch.cuda.empty_cache()
            return
        self._steps += 1
        self._tokens += len(rows)
        now = time.perf_counter()
        running = {id(r) for r in self._batch.rows}
        for row in rows:
            if id(row) in before and id(row) not in running:
                self._request_s = 0.9 * self._request_s + 0.1 * (now - row.submitted)

    def _report(self) -> None:
        if self._on_stats is not None:
            with self._cond:
                waiting = len(self._waiting)
            self._on_stats(self.name, waiting, len(self._batch.rows))
