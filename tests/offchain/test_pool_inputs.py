"""A pool's base model and data set are fetched by their on-chain URIs and verified by hash
before anyone trains or checks (real anvil, the real artifact store and fetcher)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from offchain.artifacts import LocalStore
from offchain.chain.client import ChainClient
from offchain.chain.pool_admin import PoolCreatorActions, PoolSpec
from offchain.chain.protocol import Protocol
from offchain.chain.tx import TxSender
from offchain.chain.units import ONE as LORA
from offchain.devnet import dev_account
from offchain.pools.inputs import (
    PoolInputsError,
    PoolInputsMismatchError,
    PrecisionRefusedError,
    verified_pool_config,
)
from offchain.settings import Settings
from offchain.validator.errors import ValidatorError
from offchain.validator.service import ValidatorService
from trainer.config import ModelConfig, TrainConfig
from trainer.content_hash import content_hash, publish_folder
from trainer.data import TrainingData
from trainer.models import attach_lora, build_base_model, build_tokenizer

CHAT = [
    {"messages": [{"role": "user", "content": f"{a}?"}, {"role": "assistant", "content": str(a)}]}
    for a in range(10)
]


@pytest.fixture
def deployment_file(deployment: Any, tmp_path: Path) -> Path:
    path = tmp_path / "deployments" / "local.json"
    path.parent.mkdir()
    path.write_text(json.dumps(deployment.data))
    return path


@pytest.fixture
def client(settings: Settings) -> ChainClient:
    return ChainClient.connect(settings)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny LLaMA) ``save_pretrained`` folder with its tokenizer."""
    folder = tmp_path_factory.mktemp("model") / "tiny"
    cfg = ModelConfig()
    build_base_model(cfg).save_pretrained(folder)
    build_tokenizer(cfg).save_pretrained(folder)
    return folder


@pytest.fixture
def published(model_folder: Path, tmp_path: Path) -> dict[str, Any]:
    """The model folder and a chat JSONL data set put into a content-addressed store."""
    store = LocalStore(tmp_path / "store")
    store.root.mkdir()
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in CHAT))
    model = publish_folder(model_folder, store.put, store.put_bytes)
    return {"store": store, "model": model, "data": store.put(data), "data_file": data}


@pytest.fixture
def create_pool(client: ChainClient) -> Callable[..., int]:
    admin = dev_account(0)
    creator = PoolCreatorActions(Protocol(client), admin.address, lambda: TxSender(client, admin))

    def _create(model_uri: str, model_hash: str, data_uri: str, data_hash: str) -> int:
        spec = PoolSpec(
            1,
            model_uri,
            bytes.fromhex(model_hash.removeprefix("0x")),
            data_uri,
            bytes.fromhex(data_hash.removeprefix("0x")),
            "data:application/json,{}",
            600,
            60,
            LORA,
            8,
        )
        return int(creator.create(spec).summary["pool_id"])

    return _create


def test_node_gets_the_pools_verified_model_and_data(
    client: ChainClient,
    create_pool: Callable[..., int],
    published: dict[str, Any],
    model_folder: Path,
    tmp_path: Path,
) -> None:
    model, data = published["model"], published["data"]
    assert model.sha256 == content_hash(model_folder)  # what `loranet hash` prints
    pool_id = create_pool(model.uri, model.sha256, data.uri, data.sha256)
    cfg = verified_pool_config(TrainConfig(), client=client, pool_id=pool_id, data_dir=tmp_path)
    assert cfg.model.source == "pretrained" and cfg.model.path is not None
    assert cfg.model.path != model_folder
    assert content_hash(cfg.model.path) == model.sha256
    assert cfg.data.path is not None and content_hash(cfg.data.path) == data.sha256
    # what was fetched trains: tokenizer, chat data with answer-only loss, model + LoRA
    tok = build_tokenizer(cfg.model)
    shard = TrainingData(cfg.data, tok).shard(pool_id, 0, 0, 1)
    batch = shard.batch(0, 2)
    assert (batch.labels != -100).sum() < (batch.attention_mask == 1).sum()
    out = attach_lora(build_base_model(cfg.model), cfg.model)(
        input_ids=batch.input_ids, labels=batch.labels
    )
    assert out.loss.item() > 0
    # a second round reuses the cache
    again = verified_pool_config(TrainConfig(), client=client, pool_id=pool_id, data_dir=tmp_path)
    assert again.model.path == cfg.model.path


def test_a_hash_mismatch_is_refused(
    client: ChainClient, create_pool: Callable[..., int], published: dict[str, Any], tmp_path: Path
) -> None:
    model, data = published["model"], published["data"]
    wrong = create_pool(model.uri, data.sha256, data.uri, data.sha256)
    with pytest.raises(PoolInputsMismatchError, match="does not match its on-chain hash"):
        verified_pool_config(TrainConfig(), client=client, pool_id=wrong, data_dir=tmp_path / "a")
    # the store's copy of one weight file is swapped: the folder no longer verifies
    pool_id = create_pool(model.uri, model.sha256, data.uri, data.sha256)
    store: LocalStore = published["store"]
    victim = max(store.root.iterdir(), key=lambda p: p.stat().st_size)
    victim.write_bytes(b"\x00" * victim.stat().st_size)
    with pytest.raises(PoolInputsMismatchError):
        verified_pool_config(TrainConfig(), client=client, pool_id=pool_id, data_dir=tmp_path / "b")


def test_builtin_uris_name_the_builtin_only(
    client: ChainClient, create_pool: Callable[..., int], model_folder: Path, tmp_path: Path
) -> None:
    pool_id = create_pool(
        "builtin://tiny-llama", "0x" + "11" * 32, "builtin://arithmetic", "0x" + "22" * 32
    )
    cfg = verified_pool_config(TrainConfig(), client=client, pool_id=pool_id, data_dir=tmp_path)
    assert cfg == TrainConfig()
    local = TrainConfig(model=ModelConfig(source="pretrained", path=model_folder))
    with pytest.raises(PoolInputsError, match="did not name"):
        verified_pool_config(local, client=client, pool_id=pool_id, data_dir=tmp_path)


def test_a_machine_without_the_pools_precision_refuses(
    client: ChainClient, create_pool: Callable[..., int], published: dict[str, Any], tmp_path: Path
) -> None:
    model, data = published["model"], published["data"]
    pool_id = create_pool(model.uri, model.sha256, data.uri, data.sha256)
    qlora = TrainConfig(model=ModelConfig(source="pretrained", path=tmp_path, quantization="4bit"))
    with pytest.raises(PrecisionRefusedError, match="needs a CUDA GPU"):
        verified_pool_config(qlora, client=client, pool_id=pool_id, data_dir=tmp_path)
    # the validator service turns it into "cannot judge": it abstains, it does not reject
    service = SimpleNamespace(cfg=qlora, client=client, data_dir=tmp_path)
    with pytest.raises(ValidatorError, match=r"abstaining: pool .* needs a CUDA GPU"):
        ValidatorService.judge(service, pool_id, 0, "0x" + "00" * 32)  # type: ignore[arg-type]


def test_hash_publish_gives_the_uri_and_hash_a_pool_names(
    run_cli: Callable[..., Any],
    loranet_env: Path,
    client: ChainClient,
    create_pool: Callable[..., int],
    model_folder: Path,
    tmp_path: Path,
) -> None:
    result = run_cli("hash", str(model_folder), "--publish", "--json", ok=True)
    model = json.loads(result.output)
    assert model["hash"] == content_hash(model_folder) and model["kind"] == "folder"
    data_file = tmp_path / "chat.jsonl"
    data_file.write_text("".join(json.dumps(r) + "\n" for r in CHAT))
    data = json.loads(run_cli("hash", str(data_file), "--publish", "--json", ok=True).output)
    pool_id = create_pool(model["uri"], model["hash"], data["uri"], data["hash"])
    cfg = verified_pool_config(TrainConfig(), client=client, pool_id=pool_id, data_dir=tmp_path)
    assert cfg.model.path is not None and content_hash(cfg.model.path) == model["hash"]


def test_model_folder_over_http_from_another_machines_store(
    client: ChainClient, create_pool: Callable[..., int], model_folder: Path, tmp_path: Path
) -> None:
    """No shared disk: the folder is served by a worker's artifact server and rebuilt here."""
    from offchain.artifacts import ArtifactServer

    root = tmp_path / "their-store"
    root.mkdir()
    with ArtifactServer(root) as server:
        store = LocalStore(root, base_url=server.url + "/artifacts", kind="http")
        model = publish_folder(model_folder, store.put, store.put_bytes)
        assert model.uri.startswith("http://")
        pool_id = create_pool(model.uri, model.sha256, "builtin://arithmetic", "0x" + "22" * 32)
        cfg = verified_pool_config(
            TrainConfig(), client=client, pool_id=pool_id, data_dir=tmp_path / "mine"
        )
    assert cfg.model.path is not None and content_hash(cfg.model.path) == model.sha256
    assert root not in cfg.model.path.parents
    assert cfg.data.source == "arithmetic"
