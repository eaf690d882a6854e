"""Gunicorn config used when the compatibility suite starts azmlinfsrv.

azmlinfsrv hard-codes ``-b 0.0.0.0:PORT`` on gunicorn's command line, and command-line settings
beat any config file. The ``on_starting`` hook runs in the arbiter before it creates its listening
sockets, so rewriting ``bind`` there makes the oracle listen on 127.0.0.1 only. Loaded through
``GUNICORN_CMD_ARGS="--config <this file>"``.
"""


def on_starting(server):
    binds = [f"127.0.0.1:{address.rsplit(':', 1)[1]}" for address in server.cfg.bind]
    server.cfg.set("bind", binds)


# gunicorn >= 24 opens a control socket at ~/.gunicorn/gunicorn.ctl, shared by every instance of
# the same user; the suite runs several oracles at once and needs none of it.
control_socket_disable = True
