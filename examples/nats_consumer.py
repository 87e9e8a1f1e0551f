"""Follow what the Campaign Service publishes on NATS JetStream: lifecycle events (campaign.*) and
delivery requests (notification.send.<channel>), one line per message (docs/events.md).

    pip install nats-py
    python examples/nats_consumer.py                           # new messages, until Ctrl-C
    python examples/nats_consumer.py --from-start --idle-exit 5  # all stored, then quit when quiet

NATS_URL (default nats://127.0.0.1:4222) is the server's CAMPAIGN_NATS_URL, and
CAMPAIGN_NATS_SUBJECT_PREFIX (default empty) its subject prefix. Both bodies are JSON; the streams
(CAMPAIGN_EVENTS, CAMPAIGN_DELIVERIES by default) are found by subject, and must exist: the service
creates them when it first publishes.

Each subscription is an ordered consumer: ephemeral, no acks, nothing left on the server. A real
notification service takes notification.send.> with a durable pull consumer instead, acks each
message once handled, and deduplicates by message_id (Nats-Msg-Id) beyond the duplicate window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

EVENTS = "campaign.>"
DELIVERIES = "notification.send.>"


def describe(subject: str, body: dict[str, Any]) -> str:
    """`subject key=value ...`: the fields that say what happened to which campaign."""
    if "message_id" in body:  # a delivery request
        keys = ("message_id", "campaign_id", "execution_id", "channel", "recipient")
        fields = {key: body.get(key, "") for key in keys}
    else:  # a lifecycle event: its envelope, and the campaign from its data
        data = body.get("data") or {}
        fields = {
            "event_id": body.get("event_id", ""),
            "event_type": body.get("event_type", ""),
            "organization_id": body.get("organization_id", ""),
            "campaign_id": data.get("campaign_id", ""),
        }
    return subject + " " + " ".join(f"{key}={value}" for key, value in fields.items())


async def follow(url: str, prefix: str, *, from_start: bool, idle_exit: float | None) -> int:
    """Print every message until Ctrl-C, or until none came for `idle_exit` seconds."""
    received: asyncio.Queue[Msg] = asyncio.Queue()

    async def enqueue(msg: Msg) -> None:
        await received.put(msg)

    policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=5)
        for subject in (prefix + EVENTS, prefix + DELIVERIES):
            await js.subscribe(subject, cb=enqueue, ordered_consumer=True, deliver_policy=policy)
        seen = 0
        while True:
            try:
                msg = await asyncio.wait_for(received.get(), idle_exit)
            except TimeoutError:
                print(f"no message for {idle_exit:g} s; {seen} received", file=sys.stderr)
                return 0
            seen += 1
            print(describe(msg.subject, json.loads(msg.data)), flush=True)
    finally:
        await nc.close()


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from-start", action="store_true", help="also the messages the streams already hold"
    )
    parser.add_argument(
        "--idle-exit", type=float, metavar="SECONDS", help="quit after this long without a message"
    )
    args = parser.parse_args(argv)
    url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    prefix = os.environ.get("CAMPAIGN_NATS_SUBJECT_PREFIX", "")
    try:
        return asyncio.run(
            follow(url, prefix, from_start=args.from_start, idle_exit=args.idle_exit)
        )
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
