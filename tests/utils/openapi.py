"""The operation ids a generated client names its methods after: fixed, and checked against
/openapi.json (tests/unit/api/test_openapi.py) and the rendered /docs page."""

from __future__ import annotations

OPERATION_IDS = {
    ("post", "/v1/posts/generations"): "createPostGeneration",
    ("get", "/v1/jobs/{job_id}"): "getJob",
    ("get", "/v1/jobs"): "listJobs",
    ("post", "/v1/jobs/{job_id}/cancel"): "cancelJob",
    ("get", "/v1/posts/{post_id}"): "getPost",
    ("get", "/v1/posts"): "listPosts",
    ("get", "/v1/projects"): "listProjects",
    ("get", "/v1/projects/{project_id}"): "getProject",
    ("get", "/v1/workspaces/me"): "getCurrentWorkspace",
    ("get", "/v1/health"): "getHealth",
    ("post", "/v1/webhook-endpoints"): "createWebhookEndpoint",
    ("get", "/v1/webhook-endpoints"): "listWebhookEndpoints",
    ("get", "/v1/webhook-endpoints/{endpoint_id}"): "getWebhookEndpoint",
    ("patch", "/v1/webhook-endpoints/{endpoint_id}"): "updateWebhookEndpoint",
    ("delete", "/v1/webhook-endpoints/{endpoint_id}"): "deleteWebhookEndpoint",
    ("post", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): "rotateWebhookEndpointSecret",
    ("get", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "listWebhookDeliveries",
    ("post", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"): (
        "retryWebhookDelivery"
    ),
}
