"""API keys, stored as keyed hashes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from db.engine import Database
from db.tables import ApiKey, Workspace
from ids import new_id


async def create_api_key(
    *,
    db: Database,
    workspace_id: str,
    mode: str,
    name: str,
    key_hash: str,
    last4: str,
    expires_at: datetime | None,
    now: datetime,
) -> ApiKey:
    async with db.write() as session:
        key = ApiKey(
            id=new_id("key"),
            workspace_id=workspace_id,
            mode=mode,
            name=name,
            key_hash=key_hash,
            last4=last4,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
        session.add(key)
        await session.commit()
        return key


async def find_api_key(*, db: Database, key_hash: str) -> tuple[ApiKey, Workspace] | None:
    """Look a key up by its HMAC digest.

    The digest is computed under the server secret, so a caller cannot steer which rows
    the indexed lookup touches: its timing says nothing about stored keys.
    """
    async with db.read_statement() as session:
        row = (
            await session.execute(
                select(ApiKey, Workspace)
                .join(Workspace, Workspace.id == ApiKey.workspace_id)
                .where(ApiKey.key_hash == key_hash)
            )
        ).first()
        return None if row is None else (row[0], row[1])


async def list_api_keys(*, db: Database, workspace_id: str) -> list[ApiKey]:
    async with db.read_statement() as session:
        rows = await session.scalars(
            select(ApiKey).where(ApiKey.workspace_id == workspace_id).order_by(ApiKey.created_at)
        )
        return list(rows)


async def revoke_api_key(*, db: Database, key_id: str, now: datetime) -> ApiKey | None:
    async with db.write() as session:
        key = await session.get(ApiKey, key_id)
        if key is None:
            return None
        if key.revoked_at is None:
            key.revoked_at = now
        await session.commit()
        return key
