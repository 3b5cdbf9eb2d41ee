"""The validator service (``loranet validator run``): watch reports, check, attest, finalize.

One loop, one step at a time (:meth:`ValidatorService.step`):

1. the watcher reads ``WorkLedger.ReportSubmitted`` into the validator's SQLite store;
2. for each round with reports and not finalized: once its submission window is over (and
   the block after the deadline, whose hash seeds the replay steps, exists), run every check
   on every report (:func:`offchain.validator.verdict.validate_round`), write the verdict, and
   enqueue ``attest(pool, round, acceptBitmap, nextAdapterHash)`` in the outbox;
3. once the round is decided (quorum) or its challenge window is over, enqueue ``finalize``;
4. drive the outbox (sign, send, track; restart-safe, never twice per key).

A DHT reader thread records the progress nodes publish during the rounds of watched pools
(:class:`offchain.validator.progress.ProgressRecorder`). SIGINT/SIGTERM finish the step and
exit; state (watcher cursor, reports, verdicts, outbox, progress) is on disk, so a restart
resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.abi import load_abi
from offchain.artifacts import (
    ArtifactServer,
    ArtifactSettings,
    ArtifactStore,
    Fetcher,
    open_fetcher,
    open_store,
    serve,
)
from offchain.chain.client import ChainClient
from offchain.chain.tx import TxRequest, TxSender
from offchain.errors import LoranetError
from offchain.logging import kv
from offchain.outbox import Outbox, OutboxKey
from offchain.pools.inputs import PoolInputsError, verified_pool_config
from offchain.rounds.adapters import fresh_adapter, resolve_adapter
from offchain.rounds.bundle import ZERO_HASH
from offchain.rounds.chainview import ChainView
from offchain.runtime import ServiceRuntime
from offchain.shutdown import StopFlag
from offchain.validator.checks import replay_secret
from offchain.validator.errors import RoundError, ValidatorError
from offchain.validator.progress import ProgressLog, ProgressRecorder
from offchain.validator.settings import ValidatorSettings
from offchain.validator.store import ValidatorStore
from offchain.validator.verdict import RoundInputs, RoundVerdict, validate_round
from offchain.watcher import EventWatcher, WatchedContract, WatcherStore
from trainer.collab import run_id_for
from trainer.config import TrainConfig

logger = logging.getLogger(__name__)

#: Gas limit factor of an attestation on top of the gas multiplier (see ``_attest``).
ATTEST_GAS_HEADROOM = 1.5

ACTIVE = 2
ABSTAINING, ABSTAINED = "abstaining", "abstained"
EVAL_SCALE = 1_000_000
POOLS_REFRESH_S = 10.0


@dataclass
class ValidatorService:
    """One validator. Build with :meth:`build`, run with :meth:`run` (or call :meth:`step`)."""

    client: ChainClient
    account: LocalAccount
    cfg: TrainConfig
    settings: ValidatorSettings
    data_dir: Path
    store: ValidatorStore
    watcher: EventWatcher
    outbox: Outbox
    view: ChainView
    progress: ProgressLog
    adapter_sources: list[str] = field(default_factory=list)
    pools: list[int] | None = None
    dht: Any = None
    recorder: ProgressRecorder | None = None
    fetcher: Fetcher | None = None
    publisher: ArtifactStore | None = None  # where next adapters are published (nodes fetch)
    artifacts: ArtifactSettings | None = None
    _active: tuple[float, list[int]] = (0.0, [])
    _retry_at: dict[tuple[int, int], float] = field(default_factory=dict)
    _finalize_at: dict[tuple[int, int, str], float] = field(default_factory=dict)
    _server: ArtifactServer | None = None

    @classmethod
    def build(
        cls,
        *,
        client: ChainClient,
        account: LocalAccount,
        cfg: TrainConfig,
        data_dir: Path,
        settings: ValidatorSettings | None = None,
        adapter_sources: Sequence[str] = (),
        pools: Sequence[int] | None = None,
        dht: Any = None,
        start_block: int | None = None,
        artifacts: ArtifactSettings | None = None,
    ) -> ValidatorService:
        settings = settings or ValidatorSettings()
        artifacts = artifacts or settings.artifacts
        data_dir.mkdir(parents=True, exist_ok=True)
        hub = client.contract("NetworkHub")
        role = hub.functions.VALIDATOR_ROLE().call()
        if not hub.functions.hasRole(role, account.address).call():
            raise ValidatorError(
                f"{account.address} does not hold VALIDATOR_ROLE on the hub: an admin must "
                "grant it before this account can attest."
            )
        store = ValidatorStore(data_dir / "validator.db")
        ledger = client.deployment.address("WorkLedger")
        watcher = EventWatcher(
            w3=client.w3,
            contracts=[WatchedContract("WorkLedger", ledger, load_abi("WorkLedger"))],
            store=WatcherStore(data_dir / "watcher.db"),
            dispatcher=store,
            confirmations=settings.confirmations,
            start_block=client.deployment.block if start_block is None else start_block,
            chain_id=client.chain_id,
        )
        view = ChainView(
            client.w3,
            client.contract("ComputePool"),
            client.contract("DomainRegistry"),
            client.contract("WorkLedger"),
        )
        service = cls(
            client=client,
            account=account,
            cfg=cfg,
            settings=settings,
            data_dir=data_dir,
            store=store,
            watcher=watcher,
            outbox=Outbox(data_dir / "outbox.db", sender=TxSender(client, account)),
            view=view,
            progress=ProgressLog(data_dir / "progress.db"),
            adapter_sources=list(adapter_sources),
            pools=list(pools) if pools is not None else None,
            dht=dht,
            fetcher=open_fetcher(
                artifacts,
                data_dir=data_dir,
                chain_id=client.chain_id,
                network=client.settings.network,
            ),
            publisher=_publisher(artifacts, data_dir, client),
            artifacts=artifacts,
        )
        if dht is not None:
            service.recorder = ProgressRecorder(
                dht, service.progress, service.run_ids, interval_s=settings.progress_interval_s
            )
        return service

    # -- what to watch ---------------------------------------------------------------------------

    def active_pools(self) -> list[int]:
        if self.pools is not None:
            return self.pools
        at, cached = self._active
        if time.monotonic() - at < POOLS_REFRESH_S:
            return cached
        pools = self.view.pools
        count = int(pools.functions.poolCount().call())
        found = [
            p for p in range(1, count + 1) if int(pools.functions.poolOf(p).call()[5]) == ACTIVE
        ]
        self._active = (time.monotonic(), found)
        return found

    def run_ids(self) -> list[str]:
        """Hivemind runs of the current and previous round of every watched pool."""
        out = []
        for pool_id in self.active_pools():
            try:
                current = int(self.view.pools.functions.currentRound(pool_id).call())
            except Exception:  # not started, or ended
                continue
            for r in {max(current - 1, 0), current}:
                out.append(run_id_for(self.cfg.hivemind.run_prefix, pool_id, r))
        return out

    # -- one round -------------------------------------------------------------------------------

    def base_adapter(
        self, pool_id: int, round: int, cfg: TrainConfig | None = None
    ) -> tuple[Path, str]:
        """The round's base adapter as a file, and its on-chain hash."""
        digest = self.view.base_adapter_at_start(pool_id, round)
        if digest == ZERO_HASH:
            return fresh_adapter(cfg or self.cfg, self.data_dir / "cache"), digest
        sources = [str(self.adapters_dir), *self.adapter_sources]
        if self.publisher is not None:
            sources.insert(1, self.publisher.uri_for(digest).rpartition("/")[0])
        return resolve_adapter(digest, sources, self._source), digest

    @property
    def _source(self) -> Fetcher | Path:
        return self.fetcher if self.fetcher is not None else self.data_dir / "cache"

    @property
    def adapters_dir(self) -> Path:
        return self.data_dir / "adapters"

    def published(self, pool_id: int, round: int) -> Callable[[str], int | None]:
        """``node -> samples`` it published in the round's hivemind run."""
        run_id = run_id_for(self.cfg.hivemind.run_prefix, pool_id, round)
        return lambda node: self.progress.published_samples(run_id, node)

    def judge(self, pool_id: int, round: int, seed_block_hash: str) -> RoundVerdict:
        """Run the checks of every report of the round (no transaction)."""
        try:  # the pool's model and data set, hash-checked; abstain if this machine cannot
            cfg = verified_pool_config(
                self.cfg, client=self.client, pool_id=pool_id, data_dir=self.data_dir
            )
        except PoolInputsError as err:
            raise ValidatorError(f"abstaining: {err}") from err
        base, base_hash = self.base_adapter(pool_id, round, cfg)
        policy = self.view.policy(pool_id)
        tolerance = int(policy[2]) / EVAL_SCALE
        inputs = RoundInputs(
            cfg=cfg,
            base_adapter=base,
            base_hash=base_hash,
            seed_block_hash=seed_block_hash,
            published=self.published(pool_id, round),
            thresholds=self.settings.thresholds(tolerance),
            cache_dir=self.data_dir / "cache",
            out_dir=self.adapters_dir,
            fetcher=self.fetcher,
            shard_of=self.shards(pool_id, round) if self.settings.check_shard else None,
            replay_secret=replay_secret(bytes(self.account.key)),
            quorum=max(1, int(policy[0])),
        )
        verdict = validate_round(self.store.reports(pool_id, round), inputs)
        path = self.data_dir / "verdicts" / f"{pool_id}-{round}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(verdict.as_dict(), indent=2))
        return verdict

    def shards(self, pool_id: int, round: int) -> Callable[[str], tuple[int, int] | None]:
        """node -> its (shard index, node count) in the round, from the chain's members
        (:mod:`offchain.pools.membership`); None for a node that is not a member."""
        from offchain.pools.membership import MembershipReader

        reader = MembershipReader(self.view.pools, from_block=int(self.client.deployment.block))
        members = reader.members(pool_id, round).members
        index = {node.lower(): i for i, node in enumerate(members)}

        def _shard(node: str) -> tuple[int, int] | None:
            found = index.get(node.lower())
            return None if found is None else (found, len(members))

        return _shard

    def key(self, pool_id: int, round: int, kind: str) -> OutboxKey:
        return OutboxKey(pool_id, round, self.account.address, kind)

    def process_round(self, pool_id: int, round: int) -> str:
        """Advance one round as far as possible now; returns what it is waiting for/did."""
        count, _acc, _rej, decided, finalized, _awarded, settled = self.view.round_state(
            pool_id, round
        )
        if finalized:
            self._drop_finalize(pool_id, round)
            self.store.set_status(pool_id, round, "finalized")
            return "finalized"
        window = self.view.window(pool_id, round)
        now = self.view.now()
        if now < window.submission_end:
            return "submission window open"
        attest = self.key(pool_id, round, "attest")
        status = "attested"
        if self.outbox.get(attest.id) is None and not self.view.has_attested(
            pool_id, round, self.account.address
        ):
            if now >= window.expires_at:
                status = "challenge window and grace period over before attesting"
                previous, details = self.store.status(pool_id, round)
                if previous == ABSTAINING:
                    status = ABSTAINED
                    self.store.set_status(pool_id, round, ABSTAINED, details)
                    logger.warning(
                        "abstained: artifacts stayed unavailable for the whole challenge window",
                        extra=kv(pool=pool_id, round=round),
                    )
            else:
                status = self._attest(pool_id, round, int(count), window.submission_end, attest)
        if self.settings.finalize and (decided or now >= window.expires_at):
            # one finalize per batch of reports (WorkLedger.finalizeBatch): the key names the
            # batch's first report, so a round of many reports gets one call per batch
            kind = "finalize" if int(settled) == 0 else f"finalize-{int(settled)}"
            if not self._finalize_due(pool_id, round, kind):
                return "finalize: waiting for this validator's turn"
            self.outbox.enqueue(
                self.key(pool_id, round, kind),
                TxRequest.call(
                    self.view.ledger,
                    "finalize",
                    pool_id,
                    round,
                    description=f"finalize pool {pool_id} round {round}",
                    context={"pool": pool_id, "round": round},
                ),
            )
            status = "finalizing"
        return status

    def _finalize_due(self, pool_id: int, round: int, kind: str) -> bool:
        """Whether this validator's finalize of the batch may be queued now: after a delay in
        ``[0, finalize_jitter_s)`` drawn from its address and the batch (the validators of a
        round spread out instead of sending together; whoever lands first makes the others
        drop theirs, see :meth:`_drop_finalize`)."""
        jitter = self.settings.finalize_jitter_s
        if jitter <= 0 or self.outbox.get(self.key(pool_id, round, kind).id) is not None:
            return True
        seed = f"{self.account.address.lower()}:{pool_id}:{round}:{kind}".encode()
        delay = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") / 2**64 * jitter
        due = self._finalize_at.setdefault((pool_id, round, kind), time.monotonic() + delay)
        return time.monotonic() >= due

    def _drop_finalize(self, pool_id: int, round: int) -> None:
        """The round is finalized: cancel this validator's finalize calls not yet signed (a
        call another validator made unnecessary is never sent)."""
        prefix = f"{pool_id}:{round}:{self.account.address.lower()}:finalize"
        for entry in self.outbox.entries("queued"):
            if entry.key.startswith(prefix) and self.outbox.cancel(entry.key):
                logger.info(
                    "finalize dropped: the round was finalized by another call",
                    extra=kv(pool=pool_id, round=round, key=entry.key),
                )

    def _attest(
        self, pool_id: int, round: int, count: int, submission_end: int, key: OutboxKey
    ) -> str:
        reports = self.store.reports(pool_id, round)
        if len(reports) < count:
            return f"reading reports ({len(reports)} of {count})"
        seed = self.view.seed_block_hash(submission_end)
        if seed is None:
            return "waiting for the first block after the submission window"
        retry_at = self._retry_at.get((pool_id, round), 0.0)
        if time.monotonic() < retry_at:
            return "abstaining: artifacts unavailable (retrying)"
        try:
            verdict = self.judge(pool_id, round, seed)
        except RoundError as err:  # ValidatorError, fetch and base-adapter errors
            logger.warning("cannot judge pool %d round %d: %s", pool_id, round, err)
            return f"cannot judge: {err}"
        if not verdict.complete:
            self._retry_at[(pool_id, round)] = time.monotonic() + self.settings.artifact_retry_s
            self.store.set_status(pool_id, round, ABSTAINING, verdict.as_dict())
            missing = ", ".join(f"report {i}: {why}" for i, why in verdict.unavailable.items())
            logger.warning(
                "not attesting: artifacts unavailable (an unreachable store is not a cheat); "
                "retrying until the challenge window ends",
                extra=kv(pool=pool_id, round=round, unavailable=missing),
            )
            return f"abstaining: artifacts unavailable ({missing})"
        self._retry_at.pop((pool_id, round), None)
        self._publish(verdict)
        self.store.set_status(pool_id, round, "attesting", verdict.as_dict())
        self.outbox.enqueue(
            key,
            TxRequest.call(
                self.view.ledger,
                "attest",
                pool_id,
                round,
                verdict.accept_bitmap,
                bytes.fromhex(verdict.next_adapter_hash.removeprefix("0x")),
                description=f"attest pool {pool_id} round {round}",
                context={"pool": pool_id, "round": round},
                # the attestation that reaches the quorum also decides the round: up to ~1.3x
                # the gas of one that does not (docs/gas.md), and which one it is is only known
                # when it is mined
                gas_headroom=ATTEST_GAS_HEADROOM,
            ),
        )
        logger.info(
            "round judged",
            extra=kv(
                pool=pool_id,
                round=round,
                bitmap=bin(verdict.accept_bitmap),
                next=verdict.next_adapter_hash,
                seconds=f"{verdict.seconds:.3f}",
            ),
        )
        return "attesting"

    # -- the loop --------------------------------------------------------------------------------

    def step(self) -> dict[tuple[int, int], str]:
        """One pass of every step in order, raising on the first failure (tests drive this)."""
        self.watcher.poll_once()
        done = self.process_rounds()
        self.outbox.process_once()
        return done

    def _publish(self, verdict: RoundVerdict) -> None:
        """Put the next base adapter into this validator's store (nodes fetch it by hash)."""
        if self.publisher is None or verdict.next_adapter is None:
            return
        try:
            ref = self.publisher.put(verdict.next_adapter)
        except LoranetError as err:
            logger.warning("next adapter not published: %s", err)
            return
        logger.info("next adapter published", extra=kv(uri=ref.uri, sha256=ref.sha256))

    def process_rounds(self) -> dict[tuple[int, int], str]:
        """The judging step: advance every open round of the watched pools."""
        done = {}
        for pool_id, round in self.store.open_rounds():
            if self.pools is not None and pool_id not in self.pools:
                continue
            done[(pool_id, round)] = self.process_round(pool_id, round)
        return done

    def runtime(self) -> ServiceRuntime:
        """The service loop (:mod:`offchain.runtime`): watcher, judging and outbox as separate
        steps, each backing off on its own, so that an RPC outage of the watcher does not keep
        the outbox from settling attestations (and the other way round)."""
        runtime = ServiceRuntime("validator", interval_s=self.settings.poll_interval_s)
        runtime.add_step("watcher", self.watcher.poll_once)
        runtime.add_step("rounds", self.process_rounds)
        runtime.add_step("outbox", self.outbox.process_once)
        runtime.on_close("validator stores", self.close)
        return runtime

    def run(self, stop: StopFlag, *, max_steps: int | None = None) -> None:
        """Run until ``stop`` is set (SIGINT/SIGTERM finish the current step, then close)."""
        if self.recorder is not None:
            self.recorder.start()
        if self.publisher is not None and self.publisher.kind == "http" and self.artifacts:
            self._server = serve(self.artifacts, data_dir=self.data_dir)
        logger.info("validator up", extra=kv(validator=self.account.address))
        try:
            self.runtime().run(stop, max_steps=max_steps)
        finally:
            logger.info("validator stopped", extra=kv(reason=stop.reason))

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.recorder is not None:
            self.recorder.stop()
        self.outbox.close()
        self.watcher.store.close()
        self.store.close()
        self.progress.close()


def _publisher(
    artifacts: ArtifactSettings, data_dir: Path, client: ChainClient
) -> ArtifactStore | None:
    """The validator's store for next adapters: the configured one (or local on a local
    chain); ``None`` when none is configured on a public chain (nodes then need another
    ``--adapter-source``)."""
    try:
        return open_store(
            artifacts, data_dir=data_dir, chain_id=client.chain_id, network=client.settings.network
        )
    except LoranetError as err:
        logger.warning("next adapters are not published: %s", err)
        return None
