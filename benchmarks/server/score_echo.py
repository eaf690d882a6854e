"""Benchmark workload "echo": no model, the server's own overhead."""


def init():
    pass


def run(raw_data):
    return raw_data
