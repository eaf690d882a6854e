"""Undecorated run() that returns its input string unchanged (also the benchmark's echo)."""


def init():
    pass


def run(raw_data):
    return raw_data
