"""The contract a client relies on, case by case: what the API answers to inputs that
used to be misread (content-free sources, odd ids, far dates, doubled headers), the honest
numbers it reports (exact cost, the 402's arithmetic) and what a live key gets when no
provider is configured. The exact cost and the 402 need a job that ran:
tests/integration/api/test_contract_numbers.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts import JOB_ERROR_MESSAGES
from devtools.tenants import Tenant, generation_body
from tests.utils.envelope import assert_envelope
from tests.utils.inprocess import ApiStack


async def post(stack: ApiStack, tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await stack.http.post("/v1/posts/generations", json=body, headers=tenant.headers())


@pytest.mark.parametrize("text", ["\u200b", "!!! ???", "🚀🚀🚀", "\u200b \u2060 …"])
async def test_a_source_without_words_is_refused_before_anything_is_billed(
    stack: ApiStack, tenant: Tenant, text: str
) -> None:
    response = await post(stack, tenant, generation_body(tenant, source={"text": text}))
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == "source.text"
    assert error["message"] == "source.text: must contain words (letters or digits)"


async def test_a_source_with_a_single_word_in_any_script_is_accepted(
    stack: ApiStack, tenant: Tenant
) -> None:
    response = await post(stack, tenant, generation_body(tenant, source={"text": "Привет 🚀"}))
    assert response.status_code in (200, 202), response.text


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"source": {"text": "x" * 20_001}}, "source.text: must be at most 20000 characters"),
        ({"options": {"tone": "x" * 201}}, "options.tone: must be at most 200 characters"),
        ({"options": {"maxLength": 10}}, "options.maxLength: must be at least 50"),
        ({"options": {"language": "english!"}}, "options.language: must be a BCP 47 language"),
        ({"unknown": 1}, "unknown: is not a known field"),
        ({"source": {"url": "ftp://x.example/"}}, "source.url: must be an https:// URL"),
    ],
)
async def test_validation_messages_are_in_our_words(
    stack: ApiStack, tenant: Tenant, patch: dict[str, Any], message: str
) -> None:
    response = await post(stack, tenant, generation_body(tenant, **patch))
    error = assert_envelope(response, 400, "invalid_request")
    assert error["message"].startswith(message)
    for leaked in ("Value error", "should have", "String should", "Input should", "items"):
        assert leaked not in response.text


@pytest.mark.parametrize("project_id", ["proj_doesnotexist0000", "proj_", "proj_ABC", "nope"])
async def test_a_project_id_of_unknown_shape_is_not_found(
    stack: ApiStack, tenant: Tenant, project_id: str
) -> None:
    response = await post(stack, tenant, generation_body(tenant, projectId=project_id))
    error = assert_envelope(response, 404, "not_found")
    assert error["details"]["field"] == "projectId"


async def test_path_ids_of_unknown_shape_are_not_found(stack: ApiStack, tenant: Tenant) -> None:
    for path in ("/v1/jobs/job_doesnotexist000000", "/v1/posts/post_x", "/v1/projects/proj_x"):
        assert_envelope(await stack.http.get(path, headers=tenant.headers()), 404, "not_found")


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-01:00",  # no UTC form: used to be stored, then fail for good
        "9999-12-31T23:59:59+00:00",  # past the 2-year horizon
        "2099-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
    ],
)
async def test_scheduled_for_out_of_range_is_400_naming_the_field(
    stack: ApiStack, tenant: Tenant, value: str
) -> None:
    response = await post(stack, tenant, generation_body(tenant, scheduledFor=value))
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == "scheduledFor"


@pytest.mark.parametrize("name", ["dateFrom", "dateTo"])
@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1999-01-01", "9999-12-31"]
)
async def test_date_filters_out_of_range_are_400_naming_the_field(
    stack: ApiStack, tenant: Tenant, name: str, value: str
) -> None:
    response = await stack.http.get("/v1/jobs", params={name: value}, headers=tenant.headers())
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == name


async def test_two_authorization_headers_are_refused(stack: ApiStack, tenant: Tenant) -> None:
    other = await stack.tenant()
    headers = [
        (b"Authorization", f"Bearer {tenant.test_key}".encode()),
        (b"Authorization", f"Bearer {other.test_key}".encode()),
    ]
    response = await stack.http.get("/v1/workspaces/me", headers=headers)
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == "Authorization"


async def test_401_names_the_bearer_scheme(stack: ApiStack) -> None:
    for headers in ({}, {"Authorization": "Bearer scripe_sk_test_" + "a" * 32}):
        response = await stack.http.get("/v1/jobs", headers=headers)
        assert_envelope(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_trailing_slash_never_redirects_to_the_host_header(
    stack: ApiStack, tenant: Tenant
) -> None:
    response = await stack.http.get(
        "/v1/jobs/", headers=tenant.headers(Host="evil.example"), follow_redirects=False
    )
    assert "location" not in response.headers
    assert_envelope(response, 404, "not_found")


async def test_a_live_key_without_a_provider_is_refused_at_admission(
    stack: ApiStack, tenant: Tenant
) -> None:
    settings = stack.settings.model_copy(update={"openai_api_key": None})
    async with stack.app(settings) as http:
        before = await http.get("/v1/jobs", headers=tenant.headers("live"))
        live = await http.post(
            "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers("live")
        )
        error = assert_envelope(live, 503, "provider_not_configured")
        assert "SCRIPE_OPENAI_API_KEY" in error["message"]
        after = await http.get("/v1/jobs", headers=tenant.headers("live"))
        assert after.json()["data"] == before.json()["data"]  # no job, nothing reserved
        test = await http.post(
            "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers()
        )
        assert test.status_code in (200, 202), test.text  # test keys use the offline writer


async def test_the_errors_page_lists_every_job_error_code(stack: ApiStack) -> None:
    page = await stack.http.get("/docs/errors")
    assert page.status_code == 200
    assert 'id="job-error-codes"' in page.text
    for code in (*JOB_ERROR_MESSAGES, "storage_rejected", "job_terminated", "job_timed_out"):
        assert f'id="job-{code}"' in page.text, code
    assert 'id="provider_not_configured"' in page.text
