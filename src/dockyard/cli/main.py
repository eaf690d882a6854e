"""Entry point of the ``dockyard`` command.

``dockyard serve`` is dispatched before typer is imported: it must work where only the
scoring-server runtime is installed (inside images and minimal environments).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "serve":
        from dockyard.server import main as serve_main  # lazy: `dockyard --help` stays fast

        return serve_main(args[1:])
    try:
        import typer  # noqa: F401
    except ModuleNotFoundError:
        print(
            "dockyard: the command-line interface needs the SDK extra, which is not installed.\n"
            "  What to do: pip install 'dockyard[sdk]'  (only `dockyard serve` works without it)",
            file=sys.stderr,
        )
        return 2
    from dockyard.cli.app import build_app  # lazy: `dockyard --help` stays fast
    from dockyard.cli.common import reset_state  # lazy: `dockyard --help` stays fast
    from dockyard.errors import DockyardError  # lazy: `dockyard --help` stays fast

    reset_state(args)
    app = build_app()
    try:
        app(args=args, prog_name="dockyard", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except DockyardError as exc:
        return _report(exc, exc.exit_code)
    except KeyboardInterrupt:
        print("dockyard: interrupted", file=sys.stderr)
        return 130
    return 0


def _report(exc: BaseException, code: int) -> int:
    """One message on stderr, in the CLI's words (flags and commands, not Python calls)."""
    from dockyard.cli.advice import render_error  # lazy: `dockyard --help` stays fast
    from dockyard.cli.common import debug_enabled  # lazy: `dockyard --help` stays fast

    if debug_enabled() or "--debug" in sys.argv:
        import traceback

        traceback.print_exc()
    print(f"dockyard: error: {render_error(exc)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
