"""`rapport serve | migrate | demo | bench | attachments migrate-to-s3`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import typer

from rapport.settings import Settings

app = typer.Typer(add_completion=False, help="Rapport: messaging for professional networks.")
attachments_app = typer.Typer(help="Attachment files.")
app.add_typer(attachments_app, name="attachments")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Server processes (share one database and, for >1, Redis)."),
    log_level: str = typer.Option("info"),
) -> None:
    """Apply pending migrations, then serve HTTP and WebSocket."""
    import uvicorn

    from rapport.api import server
    from rapport.api.app import SERVER_OPTIONS, compression_options, ping_options
    from rapport.store.migrate import upgrade_sync

    settings = Settings.from_env()
    if workers > 1 and not settings.redis_url:
        # Each worker would have its own in-process bus: live events would not cross workers.
        typer.echo("warning: --workers > 1 without RAPPORT_REDIS_URL: live events stay inside each worker", err=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.resolved_database_url)
    os.environ["RAPPORT_MIGRATED"] = "1"
    config = uvicorn.Config(
        "rapport.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        **SERVER_OPTIONS,
        **ping_options(settings.ws_ping_seconds),
        **compression_options(settings.ws_compression),
    )
    server.run(config)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from rapport.store.migrate import upgrade_sync

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.resolved_database_url)
    typer.echo(f"schema up to date: {settings.resolved_database_url}")


@app.command()
def demo(
    members: int = typer.Option(2_000, help="How many members to create."),
    messages: int = typer.Option(50_000, help="About how many messages their history holds."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing if the network has members."),
) -> None:
    """Fill the database with a realistic demo network (password for everyone: rapport-demo)."""
    from rapport.demo import build_demo

    asyncio.run(build_demo(Settings.from_env(), members=members, messages=messages, if_empty=if_empty))


@app.command(context_settings={"allow_extra_args": False})
def bench(
    quick: bool = typer.Option(False, "--quick", help="A small run, under two minutes."),
    database_url: str | None = typer.Option(None, help="Database to measure (default: a temporary SQLite)."),
    redis_url: str | None = typer.Option(None, help="Redis bus, for the scale-out set-up."),
    workers: int = typer.Option(1, help="Server processes (the ceiling uses as many)."),
    out: str | None = typer.Option(None, help="Report directory (default bench/reports/<mode>-<time>)."),
    only: str | None = typer.Option(None, help="After the data set, run only these phases (e.g. sponsored,insight)."),
    members: int | None = typer.Option(None, help="Members of the big network (default 2,000 quick, 100,000 full)."),
    scale_out: bool = typer.Option(
        False, "--scale-out", help="Instead of the phases: --workers 1, then 2, on PostgreSQL + Redis, side by side."
    ),
    scale_out_server: str | None = typer.Option(
        None, help="PostgreSQL server for --scale-out's scratch database (default postgres@127.0.0.1:5432)."
    ),
) -> None:
    """Measure throughput, latency, connections and scale, with a report (see bench/)."""
    candidates = [Path.cwd() / "bench" / "run.py", Path(__file__).resolve().parents[2] / "bench" / "run.py"]
    script = next((c for c in candidates if c.exists()), None)
    if script is None:
        typer.echo("bench/run.py not found: run from the project's root", err=True)
        raise typer.Exit(2)
    args = [sys.executable, str(script), *(["--quick"] if quick else []), "--workers", str(workers)]
    args += ["--scale-out"] if scale_out else []
    for flag, value in (
        ("--database-url", database_url),
        ("--redis-url", redis_url),
        ("--out", out),
        ("--only", only),
        ("--members", str(members) if members else None),
        ("--scale-out-server", scale_out_server),
    ):
        if value:
            args += [flag, value]
    os.execv(sys.executable, args)


@attachments_app.command("migrate-to-s3")
def migrate_to_s3() -> None:
    """Copy the files under RAPPORT_DATA_DIR/attachments into RAPPORT_S3_BUCKET, verifying each; safe to re-run."""
    settings = Settings.from_env()
    if not settings.s3_bucket:
        typer.echo("set RAPPORT_S3_BUCKET (and RAPPORT_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY) first", err=True)
        raise typer.Exit(2)
    asyncio.run(_migrate_to_s3(settings))


async def _migrate_to_s3(settings: Settings) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from rapport.domain.errors import Unavailable
    from rapport.store.blobs import LocalBlobStore
    from rapport.store.s3blobs import S3BlobStore
    from rapport.store.s3migrate import local_blobs, migrate

    local = LocalBlobStore(settings.attachments_dir)
    s3 = S3BlobStore.from_settings(settings)
    total = sum(size for _, _, size in local_blobs(local))
    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task(f"{local.root} -> {s3.where}", total=total)
            outcome = await migrate(
                local, s3, advance=lambda n: progress.advance(task, n), say=lambda line: progress.console.print(line)
            )
    except Unavailable as exc:
        typer.echo(f"stopped: {exc.message} ({s3.where}); run again to resume", err=True)
        raise typer.Exit(1) from exc
    finally:
        await s3.aclose()
    typer.echo(
        f"copied {outcome.copied}, already there {outcome.skipped}, thumbnails {outcome.derived}, "
        f"failed {len(outcome.failed)}"
    )
    if outcome.failed:
        raise typer.Exit(1)


def main() -> None:
    app()
