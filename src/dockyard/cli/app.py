"""The typer application: one sub-command per noun, each defined in its own module."""

from __future__ import annotations

import typer

from dockyard.cli.common import app_callback


def build_app():  # type: ignore[no-untyped-def]
    from dockyard.cli import (
        base_image,
        compute,
        diagnose,
        env,
        image,
        model,
        secret,
        service,
        ui,
        workspace,
    )  # lazy: `dockyard --help` stays fast

    app = typer.Typer(
        name="dockyard",
        help="Register models, build them into images, deploy them as web services, and find out why a deployment fails.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(app_callback)
    nouns = {
        "workspace": workspace,
        "model": model,
        "env": env,
        "secret": secret,
        "image": image,
        "service": service,
        "compute": compute,
        "base-image": base_image,
    }
    for noun, module in nouns.items():
        app.add_typer(module.app, name=noun)
    app.command("diagnose")(diagnose.diagnose)
    app.command("ui")(ui.ui)

    @app.command(
        "serve",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )
    def serve(ctx: typer.Context) -> None:
        """Run the scoring server for a score.py (see `dockyard serve --help`)."""
        from dockyard.server import main as serve_main  # lazy: `dockyard --help` stays fast

        raise typer.Exit(serve_main(list(ctx.args)))

    return app
