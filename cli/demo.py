"""The demo workspace the embedded stack creates on first start (and reuses after)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cli.admin import mint_key
from cli.common import database
from config import Settings
from db.engine import Database
from db.repo import projects as projects_repo
from db.repo import workspaces as workspaces_repo
from db.tables import Project
from domain.plans import Plan
from domain.retrieval import split_passages

TONE_PROFILE = {
    "voice": "Direct, warm and practical; speaks from hands-on experience, never from theory.",
    "audience": "B2B founders and marketing leads at companies with 10–200 people",
    "person": "I",
    "formality": "informal",
    "hook_style": "bold_claim",
    "emoji": False,
    "cta": "What has worked for you? I read every comment.",
    "signoff": "— Lena",
    "avoid": ["buzzwords", "hype", "'game changer'", "more than one exclamation mark"],
    "hashtags": ["#B2BMarketing"],
}

VOICE_SAMPLES = [
    "We lost our biggest customer in 2021.\n\nNot because of price. Not because of the "
    "product. Because nobody had talked to them in four months.\n\nSince then every account "
    "gets a call every quarter, no agenda, just listening.\n\nChurn went down. Referrals went "
    "up. It's not clever. It's just showing up.",
    "Three things I wish I had known before my first marketing hire:\n\n1. Hire for "
    "curiosity, not for channels.\n2. Give them one number to move, not ten.\n3. Your "
    "positioning is their job description.\n\nThe rest they'll figure out faster than you.",
    "Hot take: most B2B content fails because it answers questions nobody asked.\n\nBefore "
    "you write, open your last ten sales calls. Write down the exact words customers used."
    "\n\nThat's your content calendar for the next month.",
]

PILLARS = [
    "Customer retention",
    "B2B content strategy",
    "Building a marketing team",
    "Founder-led sales",
]

KB_DOCUMENTS = [
    (
        "Retention playbook 2025",
        "Customers who get a personal onboarding call in their first two weeks churn 38% less "
        "in their first year than those who only get the email sequence.\n\n"
        "The first 30 days decide retention. If a customer has not reached their first "
        "success moment by day 30, the chance they renew halves.\n\n"
        "Quarterly check-in calls with no sales agenda surface problems three months before "
        "they show up in usage data.",
    ),
    (
        "Content that converts — internal notes",
        "Our best performing LinkedIn posts start with a specific number or a personal "
        "failure. Generic advice posts get a third of the reach.\n\n"
        "Posts written from real sales-call language get twice the comments of posts written "
        "from keyword research.\n\n"
        "Consistency beats virality: three posts a week for a quarter grew inbound demo "
        "requests by 60% while no single post went viral.",
    ),
    (
        "Hiring the first marketer",
        "The first marketing hire should own one metric, usually qualified pipeline, and "
        "report to the founder for the first year.\n\n"
        "Generalists outperform channel specialists in the first two years because the "
        "channel that works is not known yet.",
    ),
]

SAMPLE_SOURCE = (
    "We analysed 1,200 B2B SaaS accounts and found that customers who had a personal "
    "onboarding call churned 38% less in their first year. Most teams still rely on "
    "automated email sequences because calls do not scale. But the numbers say the opposite: "
    "one 30-minute call costs less than losing a customer in month four. We now book the "
    "call before the contract is even signed."
)


@dataclass(frozen=True)
class DemoCredentials:
    workspace_id: str
    project_id: str
    api_key: str


def credentials_path(settings: Settings) -> Path:
    return settings.data_dir / "demo.json"


async def create_demo_project(db: Database, *, workspace_id: str, now: datetime) -> Project:
    """The demo project: a personal brand with a full voice and a small knowledge base."""
    project = await projects_repo.create_project(
        db=db,
        workspace_id=workspace_id,
        name="Lena Fischer — Growth Marketing",
        type="PERSONAL_BRAND",
        language="en",
        url="https://www.linkedin.com/in/lena-fischer-demo",
        tone_profile=TONE_PROFILE,
        voice_samples=VOICE_SAMPLES,
        pillars=PILLARS,
        now=now,
    )
    for title, text in KB_DOCUMENTS:
        await projects_repo.add_kb_document(
            db=db,
            project_id=project.id,
            title=title,
            text=text,
            source="demo",
            passages=split_passages(text),
            now=now,
        )
    return project


async def ensure_demo(settings: Settings) -> DemoCredentials:
    """Create the demo workspace, test key and project once; later starts reuse them.

    The demo key is a test-mode key, kept in the local data folder so every start can print
    it; real keys are only ever stored as hashes.
    """
    path = credentials_path(settings)
    if path.exists():
        saved = DemoCredentials(**json.loads(path.read_text()))
        async with database(settings) as db:
            if await projects_repo.get_project(db=db, project_id=saved.project_id) is not None:
                return saved
    now = datetime.now(UTC)
    async with database(settings) as db:
        workspace = await workspaces_repo.create_workspace(
            db=db, name="Demo Workspace", plan=Plan.SOLO, now=now
        )
        project = await create_demo_project(db, workspace_id=workspace.id, now=now)
    key = await mint_key(workspace_id=workspace.id, mode="test", name="demo", expires_at=None)
    assert key is not None
    credentials = DemoCredentials(
        workspace_id=workspace.id, project_id=project.id, api_key=str(key["key"])
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(credentials), indent=2))
    path.chmod(0o600)
    return credentials
