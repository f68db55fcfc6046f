"""``scripe``: run the stack or its parts, and administer workspaces, keys and projects."""

from __future__ import annotations

import typer

from cli.admin import kb_app, keys_app, projects_app, workspaces_app
from cli.common import run
from cli.jobs import jobs_app
from cli.spend import spend_app
from cli.webhooks import webhooks_app

app = typer.Typer(
    help="Scripe post-generation API: run it and operate it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(keys_app, name="keys")
app.add_typer(projects_app, name="projects")
app.add_typer(kb_app, name="kb")
app.add_typer(spend_app, name="spend")
API_GRACEFUL_SHUTDOWN_SECONDS = 30

app.add_typer(jobs_app, name="jobs")
app.add_typer(webhooks_app, name="webhooks")
db_app = typer.Typer(help="The application database.")
app.add_typer(db_app, name="db")


@app.command("run")
def run_embedded(
    ui_port: int = typer.Option(8233, help="Port of the Temporal Web UI"),
    external_temporal: bool = typer.Option(
        False, help="Use the Temporal at SCRIPE_TEMPORAL_ADDRESS instead of starting one"
    ),
) -> None:
    """Start Temporal (dev server), the worker and the API; Ctrl-C stops all."""
    from cli.stack import run_stack

    run_stack(ui_port=ui_port, external_temporal=external_temporal)


@app.command("api")
def run_api() -> None:
    """Serve the HTTP API (uvicorn) with the configured host and port."""
    import uvicorn

    from api.context import RequestContextFilter
    from config import get_settings
    from observability.logs import configure_logging

    settings = get_settings()
    configure_logging(
        level=settings.log_level,
        log_format=settings.log_format,
        filters=[RequestContextFilter()],
    )
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        # SIGTERM: stop accepting, let in-flight requests finish for up to 30 s, then exit.
        timeout_graceful_shutdown=API_GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        log_config=None,  # configure_logging above owns the handlers
        access_log=False,  # the API logs each request itself, with its ids
    )


@app.command("worker")
def run_worker() -> None:
    """Run the Temporal worker."""
    import worker

    worker.main()


@db_app.command("upgrade")
def upgrade_database() -> None:
    """Apply the database migrations."""
    from config import get_settings
    from db.migrate import upgrade

    run(upgrade(get_settings().database_url))
    typer.echo("database is up to date")


if __name__ == "__main__":
    app()
