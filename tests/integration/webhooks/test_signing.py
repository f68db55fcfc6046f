"""Signatures, the retry schedule, answers, and the SSRF-safe sender (no network beyond a
local receiver)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from activities.webhooks import AttemptFailed, post_signed
from domain.webhooks import (
    GIVE_UP_AFTER,
    classify_status,
    event_id,
    new_secret,
    retry_delay,
    signed_headers,
    signing_secrets,
)
from tests.utils.webhooks import Receiver

BODY = '{"id":"evt_x","type":"job.completed"}'


def test_the_signature_verifies_with_the_standardwebhooks_package() -> None:
    secret = new_secret()
    headers = signed_headers(
        secrets_=[secret], msg_id="evt_x", timestamp=datetime.now(UTC), body=BODY
    )
    assert Webhook(secret).verify(BODY, headers) == {"id": "evt_x", "type": "job.completed"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("completed", "failed"), headers)


def test_after_a_rotation_both_secrets_sign_for_24_hours() -> None:
    old, new = new_secret(), new_secret()
    now = datetime.now(UTC)
    keys = signing_secrets(
        current=new, previous=old, previous_until=now + timedelta(hours=24), now=now
    )
    headers = signed_headers(secrets_=keys, msg_id="evt_x", timestamp=now, body=BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)
    later = now + timedelta(hours=25)
    assert signing_secrets(
        current=new, previous=old, previous_until=now + timedelta(hours=24), now=later
    ) == [new]


def test_event_ids_are_stable_per_job_and_type() -> None:
    a = event_id(job_id="job_a", event_type="job.completed")
    assert a == event_id(job_id="job_a", event_type="job.completed") and a.startswith("evt_")
    assert a != event_id(job_id="job_a", event_type="post.created")
    assert a != event_id(job_id="job_b", event_type="job.completed")


def test_retries_back_off_with_jitter_and_fill_three_days() -> None:
    assert retry_delay(1, 0.0) == timedelta(seconds=2.5)
    assert retry_delay(1, 0.999) < timedelta(seconds=5)
    assert retry_delay(30, 0.999) < timedelta(hours=6)
    elapsed, attempts = timedelta(0), 0
    while elapsed <= GIVE_UP_AFTER:
        attempts += 1
        elapsed += retry_delay(attempts, 0.5)
    assert 15 <= attempts <= 40


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (410, "gone"),
        (301, "retry"),
        (302, "retry"),
        (404, "retry"),
        (500, "retry"),
        (429, "retry"),
    ],
)
def test_what_an_answer_means(status: int, kind: str) -> None:
    assert classify_status(status) == kind


async def test_private_destinations_are_refused_in_production_mode() -> None:
    async with httpx.AsyncClient() as client:
        for url in ("https://127.0.0.1/x", "http://hooks.example.com/x", "https://10.0.0.1/x"):
            with pytest.raises(AttemptFailed, match="destination refused"):
                await post_signed(
                    client, url, body=BODY, headers={}, timeout=2, allow_private=False
                )

        async def rebinding(host: str, port: int) -> list[str]:
            return ["93.184.216.34", "127.0.0.1"]  # one private answer is enough to refuse

        with pytest.raises(AttemptFailed, match="destination refused"):
            await post_signed(
                client,
                "https://hooks.example.com/x",
                body=BODY,
                headers={},
                timeout=2,
                allow_private=False,
                resolver=rebinding,
            )


async def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    receiver: Receiver,
) -> None:
    port = int(receiver.base_url.rsplit(":", 1)[1])
    resolved: list[str] = []

    async def resolver(host: str, port_: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        status = await post_signed(
            client,
            f"http://hooks.customer.test:{port}/hooks/pinned",
            body=BODY,
            headers={"webhook-id": "evt_x"},
            timeout=2,
            allow_private=True,
            resolver=resolver,
        )
    assert status == 204 and resolved == ["hooks.customer.test"]
    [got] = receiver.fake.for_name("pinned")
    assert got.headers["host"] == f"hooks.customer.test:{port}" and got.body == BODY
