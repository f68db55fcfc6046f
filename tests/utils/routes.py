"""Every route of the API, as the access matrix walks them
(tests/integration/api/test_access_matrix.py); tests/unit/api/test_access_routes.py checks
that the list is exactly what /openapi.json documents."""

from __future__ import annotations

ROUTES = [
    ("POST", "/v1/posts/generations"),
    ("GET", "/v1/posts/{post_id}"),
    ("GET", "/v1/posts"),
    ("GET", "/v1/jobs/{job_id}"),
    ("GET", "/v1/jobs"),
    ("POST", "/v1/jobs/{job_id}/cancel"),
    ("GET", "/v1/projects"),
    ("GET", "/v1/projects/{project_id}"),
    ("GET", "/v1/workspaces/me"),
    ("GET", "/v1/health"),
    ("POST", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"),
]
