"""The embedded broker (jobs.broker) under real concurrent producers and consumers: no
message lost, corrupt or delivered twice, and no consumer crashes.

HONDANA_BROKER_STRESS_TRANSPORT=filesystem runs the stress test on kombu's own
filesystem transport instead, which hands consumers half-written files.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import multiprocessing
import os
import random
import time
import traceback
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection
from kombu import Queue

TRANSPORT = os.environ.get("HONDANA_BROKER_STRESS_TRANSPORT", "jobs.broker:Transport")
QUEUE = "stress"
PRODUCERS = 4
CONSUMERS = 4
PER_PRODUCER = 1000
MAX_PAYLOAD = 64 * 1024


def options(root: Path) -> dict[str, Any]:
    """The transport options config/settings.py uses, under `root`."""
    for sub in ("queue", "processed", "control"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
        "store_processed": False,
        "polling_interval": 0.01,
    }


def connect(root: Path, transport: str = TRANSPORT) -> Connection:
    return Connection("filesystem://", transport=transport, transport_options=options(root))


def produce(root: Path, producer: int) -> None:
    """Publish PER_PRODUCER messages, 16 bytes to 64 KB (log-uniform), each with its id
    and the sha256 of its data."""
    rng = random.Random(producer)
    with connect(root) as conn:
        publisher = conn.Producer(serializer="json")
        for i in range(PER_PRODUCER):
            size = int(math.exp(rng.uniform(math.log(16), math.log(MAX_PAYLOAD))))
            data = rng.randbytes(size // 2 + 1).hex()[:size]
            body = {"id": f"{producer}-{i}", "data": data, "sha": hashlib.sha256(data.encode()).hexdigest()}
            publisher.publish(body, routing_key=QUEUE)


def consume(root: Path, consumer: int, stop: Any) -> None:
    """Take messages until `stop` is set, writing one line per message received; a crash
    leaves its traceback in crash-<n>.txt."""
    try:
        with (root / f"received-{consumer}.jsonl").open("a") as out, connect(root) as conn:

            def on_message(body: dict[str, Any], message: Any) -> None:
                ok = hashlib.sha256(body["data"].encode()).hexdigest() == body["sha"]
                out.write(json.dumps({"id": body["id"], "ok": ok}) + "\n")
                out.flush()
                message.ack()

            with conn.Consumer(Queue(QUEUE, routing_key=QUEUE), callbacks=[on_message], accept=["json"]):
                while not stop.is_set():
                    with suppress(TimeoutError):
                        conn.drain_events(timeout=0.2)
    except BaseException:
        (root / f"crash-{consumer}.txt").write_text(traceback.format_exc())
        raise


def received(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in root.glob("received-*.jsonl") for line in path.read_text().splitlines()]


@pytest.mark.integration
def test_concurrent_producers_and_consumers_lose_corrupt_and_duplicate_nothing(tmp_path):
    total = PRODUCERS * PER_PRODUCER
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded pytest process
    stop = ctx.Event()
    consumers = [ctx.Process(target=consume, args=(tmp_path, n, stop)) for n in range(CONSUMERS)]
    producers = [ctx.Process(target=produce, args=(tmp_path, n)) for n in range(PRODUCERS)]
    started = time.monotonic()
    try:
        for process in consumers + producers:
            process.start()
        for process in producers:
            process.join(timeout=90)
        # Wait for the consumers to drain the queue; give up when none is alive or
        # none made progress for 15 seconds.
        count, progress_at = 0, time.monotonic()
        while count < total and any(c.is_alive() for c in consumers) and time.monotonic() - progress_at < 15:
            time.sleep(0.2)
            now = len(received(tmp_path))
            if now != count:
                count, progress_at = now, time.monotonic()
    finally:
        stop.set()
        for process in consumers + producers:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()
    elapsed = time.monotonic() - started

    crashes = {path.name: path.read_text() for path in tmp_path.glob("crash-*.txt")}
    assert not crashes, crashes
    assert [p.exitcode for p in producers + consumers] == [0] * (PRODUCERS + CONSUMERS)
    records = received(tmp_path)
    assert [r["id"] for r in records if not r["ok"]] == []
    ids = Counter(r["id"] for r in records)
    assert sorted(i for i, n in ids.items() if n > 1) == []
    expected = {f"{p}-{i}" for p in range(PRODUCERS) for i in range(PER_PRODUCER)}
    assert sorted(expected - set(ids)) == []
    assert len(records) == total
    queue = tmp_path / "queue"
    assert [name for name in os.listdir(queue) if name.endswith(".msg")] == []
    assert not (queue / "bad").exists() or os.listdir(queue / "bad") == []
    print(f"{total} messages through {TRANSPORT} in {elapsed:.1f} s")


def test_a_garbage_file_in_the_queue_is_set_aside_and_consumption_goes_on(tmp_path, caplog):
    queue = tmp_path / "queue"
    with connect(tmp_path) as conn:
        conn.Producer(serializer="json").publish({"n": 1}, routing_key=QUEUE)
        # Named to sort first, as a half-written file of kombu's own transport would.
        (queue / f"0_00000000000000000000_truncated.{QUEUE}.msg").write_bytes(b'{"body": "eyJuIjog')
        (queue / f"0_00000000000000000001_empty.{QUEUE}.msg").write_bytes(b"")
        (queue / f"0_00000000000000000002_list.{QUEUE}.msg").write_bytes(b"[1, 2]")
        conn.Producer(serializer="json").publish({"n": 2}, routing_key=QUEUE)
        channel = conn.default_channel
        assert channel.queue_declare(QUEUE, passive=True).message_count == 5
        with caplog.at_level(logging.ERROR, logger="jobs.broker"):
            messages = [channel.basic_get(QUEUE, no_ack=True) for _ in range(3)]
        assert [m.decode() if m else None for m in messages] == [{"n": 1}, {"n": 2}, None]
        assert channel._size(QUEUE) == 0
    assert sorted(os.listdir(queue / "bad")) == [
        f"0_00000000000000000000_truncated.{QUEUE}.msg",
        f"0_00000000000000000001_empty.{QUEUE}.msg",
        f"0_00000000000000000002_list.{QUEUE}.msg",
    ]
    assert len([r for r in caplog.records if "moved to" in r.getMessage()]) == 3


def test_messages_claimed_by_a_dead_consumer_are_put_back_and_a_live_ones_are_not(tmp_path):
    queue = tmp_path / "queue"
    with connect(tmp_path) as conn:
        publisher = conn.Producer(serializer="json")
        for n in range(2):
            publisher.publish({"n": n}, routing_key=QUEUE)
        first, second = sorted(name for name in os.listdir(queue) if name.endswith(".msg"))
        # Two claim folders as consumers leave them: one whose process is gone (its lock
        # is free), one whose consumer still holds its lock.
        for folder, name in (("111-dead", first), ("222-alive", second)):
            (queue / "claimed" / folder).mkdir(parents=True)
            (queue / "claimed" / folder / ".lock").touch()
            os.rename(queue / name, queue / "claimed" / folder / name)
        with (queue / "claimed" / "222-alive" / ".lock").open() as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            channel = conn.default_channel
            assert channel.basic_get(QUEUE, no_ack=True).decode() == {"n": 0}
            assert channel.basic_get(QUEUE, no_ack=True) is None
        assert not (queue / "claimed" / "111-dead").exists()
        assert sorted(os.listdir(queue / "claimed" / "222-alive")) == [".lock", second]


def test_priority_then_age_decides_the_order_and_purge_empties_the_queue(tmp_path):
    with connect(tmp_path) as conn:
        publisher = conn.Producer(serializer="json")
        for n, priority in enumerate([0, 5, 0, 9, 5]):
            publisher.publish({"n": n}, routing_key=QUEUE, priority=priority)
        channel = conn.default_channel
        assert [channel.basic_get(QUEUE, no_ack=True).decode()["n"] for _ in range(3)] == [3, 1, 4]
        assert channel.queue_purge(QUEUE) == 2
        assert channel.queue_declare(QUEUE, passive=True).message_count == 0
        assert channel.basic_get(QUEUE, no_ack=True) is None
