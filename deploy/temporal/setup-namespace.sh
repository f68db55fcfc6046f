#!/bin/sh
# One-shot (temporalio/admin-tools): the namespace the jobs run in (30-day retention) and
# the search attributes every job workflow upserts. They must exist before any worker
# starts: a workflow that upserts an unknown search attribute fails every workflow task.
set -eu

NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
HOST="${TEMPORAL_ADDRESS%:*}"
PORT="${TEMPORAL_ADDRESS##*:}"
# The CLI may try an IPv6 address first where the network has none: resolve to IPv4.
IP=$(getent ahostsv4 "$HOST" | awk 'NR == 1 { print $1 }')
ADDRESS="${IP:-$HOST}:$PORT"

attempt=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "Temporal is not healthy at $ADDRESS"
    exit 1
  fi
  sleep 2
done

temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create --namespace "$NAMESPACE" --retention 720h \
       --address "$ADDRESS"

# Keep in step with contracts.SEARCH_ATTRIBUTES (tests/integration/test_compose.py checks).
for name in WorkspaceId ProjectId JobStatus JobMode WebhookEndpointId WebhookEventType WebhookEventId WebhookDeliveryStatus; do
  if temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" \
       | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$NAMESPACE" --address "$ADDRESS" \
      --name "$name" --type Keyword
  fi
done
echo "namespace $NAMESPACE is ready"
