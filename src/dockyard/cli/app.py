"""The typer application: one sub-command per noun, each defined in its own module."""

from __future__ import annotations

import importlib

import typer

from dockyard.cli.common import app_callback

# noun -> module under dockyard.cli that defines ``app`` (a typer.Typer)
NOUNS: dict[str, str] = {
    "workspace": "workspace",
    "model": "model",
    "env": "env",
    "secret": "secret",
    "image": "image",
    "service": "service",
    "base-image": "base_image",
}


def build_app():  # type: ignore[no-untyped-def]
    app = typer.Typer(
        name="dockyard",
        help="Register models, build them into images, deploy them as web services, and find out why a deployment fails.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(app_callback)
    for noun, module_name in NOUNS.items():
        try:
            module = importlib.import_module(f"dockyard.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dockyard.cli.{module_name}":
                continue  # that noun is not built yet
            raise
        app.add_typer(module.app, name=noun)

    @app.command(
        "serve",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )
    def serve(ctx: typer.Context) -> None:
        """Run the scoring server for a score.py (see `dockyard serve --help`)."""
        from dockyard.cli.main import _serve

        raise typer.Exit(_serve(list(ctx.args)))

    return app
