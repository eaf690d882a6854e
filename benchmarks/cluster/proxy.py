"""Proxy-cost benchmark: the same score.py on the cluster target (Ray Serve's proxy and router in
front of one replica) and on the local target (LocalWebservice: dockyard's server on its port).

    .venv/bin/python benchmarks/cluster/proxy.py            # about 3 minutes
    .venv/bin/python benchmarks/cluster/proxy.py --quick    # a smoke test
    .venv/bin/python benchmarks/cluster/proxy.py --address 127.0.0.1:PORT --serve-port P

Both targets get the same limits: ``replica_max_concurrent_requests=1``,
``max_request_wait_time=500``; the cluster service has ``num_replicas=1``, ``cpu_cores=0.1``,
``auth_enabled=False`` (the local target's default). Two scripts: ``echo`` (a no-op run()) and
``sleep50`` (run() sleeps 50 ms).

* Latency: ``echo``, 1 connection (http.client, keep-alive), sequential requests: after 100
  untimed, ``--rounds`` rounds of ``--requests`` per target, the targets alternating round by
  round; p50 / p99 over all of them, the spread of the per-round p50s, and the cluster's added
  latency (cluster - local).
* Throughput: ``sleep50`` (and ``echo`` for the proxy's own ceiling), ``--conns`` connections in
  closed loop (one thread each) for ``--seconds`` per target and round, interleaved; req/s of 200
  answers, p50 / p99, and cluster / local per round (median and range).

Without ``--address`` the benchmark starts its own local cluster (2 CPUs) and stops it by its
PIDs at the end; ``--worker-niceness N`` starts it with Ray's ``RAY_worker_niceness=N`` (Ray's
default is 15: its proxy and replicas run at a lower priority than everything else).
PYTHONDONTWRITEBYTECODE is unset for the cluster unless ``--keep-dontwritebytecode``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import statistics
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import common

BODY = b'{"x": 1}'
HEADERS = {"Content-Type": "application/json"}


class Client:
    """One keep-alive connection to a scoring URI."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        assert parts.hostname == common.HOST, uri
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            self.conn.request("POST", self.path, BODY, HEADERS)
            answer = self.conn.getresponse()
            answer.read()
            status = answer.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            status = 0
        return status, time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


def sequential(uri: str, count: int) -> dict[str, Any]:
    client = Client(uri)
    try:
        answers = [client.post() for _ in range(count)]
    finally:
        client.close()
    ok = [s * 1000 for code, s in answers if code == 200]
    return {
        "sent": count,
        "ok": len(ok),
        "p50_ms": common.percentile(ok, 50),
        "p99_ms": common.percentile(ok, 99),
        "latencies_ms": ok,
    }


def closed_loop(uri: str, conns: int, seconds: float) -> dict[str, Any]:
    """``conns`` connections, each sending its next request when the last is answered."""
    results: list[list[tuple[int, float]]] = [[] for _ in range(conns)]
    stop = time.monotonic() + seconds

    def worker(out: list[tuple[int, float]]) -> None:
        client = Client(uri)
        try:
            while time.monotonic() < stop:
                out.append(client.post())
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(out,)) for out in results]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    answers = [a for out in results for a in out]
    ok = [s * 1000 for code, s in answers if code == 200]
    codes: dict[str, int] = {}
    for code, _ in answers:
        codes[str(code)] = codes.get(str(code), 0) + 1
    return {
        "seconds": elapsed,
        "codes": codes,
        "rps": len(ok) / elapsed,
        "p50_ms": common.percentile(ok, 50),
        "p99_ms": common.percentile(ok, 99),
    }


def run(args: argparse.Namespace, uris: dict[tuple[str, str], str]) -> dict[str, Any]:
    targets = ("local", "cluster")
    for (target, script), uri in uris.items():  # warm both paths (connections, imports, caches)
        sequential(uri, 100)
        print(f"warm: {target} {script} at {uri}")
    latency: dict[str, list[dict]] = {t: [] for t in targets}
    for n in range(args.rounds):
        for target in targets if n % 2 == 0 else targets[::-1]:
            latency[target].append(sequential(uris[target, "echo"], args.requests))
    throughput: dict[str, dict[str, list[dict]]] = {
        s: {t: [] for t in targets} for s in ("sleep50", "echo")
    }
    for n in range(args.rounds):
        for script in ("sleep50", "echo"):
            for target in targets if n % 2 == 0 else targets[::-1]:
                result = closed_loop(uris[target, script], args.conns, args.seconds)
                throughput[script][target].append(result)
                print(
                    f"round {n + 1} {script} {target}: {result['rps']:.1f} req/s {result['codes']}"
                )
    return {"latency": latency, "throughput": throughput}


def latency_rows(latency: dict[str, list[dict]]) -> tuple[list[list[str]], dict[str, Any]]:
    rows, figures = [], {}
    for target, rounds in latency.items():
        every = [x for r in rounds for x in r["latencies_ms"]]
        p50s = [r["p50_ms"] for r in rounds if r["p50_ms"] is not None]
        figures[target] = {
            "p50_ms": common.percentile(every, 50),
            "p99_ms": common.percentile(every, 99),
            "ok": len(every),
            "sent": sum(r["sent"] for r in rounds),
        }
        rows.append(
            [
                target,
                f"{figures[target]['ok']}/{figures[target]['sent']}",
                common.fmt(figures[target]["p50_ms"], 2),
                common.fmt(figures[target]["p99_ms"], 2),
                f"{common.fmt(min(p50s), 2)}-{common.fmt(max(p50s), 2)}",
            ]
        )
    added = {
        q: figures["cluster"][q] - figures["local"][q]
        for q in ("p50_ms", "p99_ms")
        if figures["cluster"][q] is not None and figures["local"][q] is not None
    }
    rows.append(
        [
            "cluster - local",
            "",
            common.fmt(added.get("p50_ms"), 2),
            common.fmt(added.get("p99_ms"), 2),
            "",
        ]
    )
    return rows, {"targets": figures, "added": added}


def throughput_rows(throughput: dict) -> tuple[list[list[str]], dict[str, Any]]:
    rows, figures = [], {}
    for script, by_target in throughput.items():
        local, cluster = by_target["local"], by_target["cluster"]
        ratios = [c["rps"] / lo["rps"] for c, lo in zip(cluster, local, strict=True) if lo["rps"]]
        figures[script] = {
            "local_rps": statistics.median(r["rps"] for r in local),
            "cluster_rps": statistics.median(r["rps"] for r in cluster),
            "ratio_median": statistics.median(ratios) if ratios else None,
            "ratio_range": [min(ratios), max(ratios)] if ratios else None,
        }
        f = figures[script]

        def codes(results: list[dict]) -> str:
            total: dict[str, int] = {}
            for r in results:
                for code, n in r["codes"].items():
                    total[code] = total.get(code, 0) + n
            return ", ".join(f"{code}: {n}" for code, n in sorted(total.items()))

        def p(results: list[dict], q: str) -> str:
            return common.fmt(statistics.median(r[q] for r in results if r[q] is not None), 1)

        rows.append(
            [
                script,
                f"{f['local_rps']:.1f}",
                f"{p(local, 'p50_ms')} / {p(local, 'p99_ms')}",
                f"{f['cluster_rps']:.1f}",
                f"{p(cluster, 'p50_ms')} / {p(cluster, 'p99_ms')}",
                f"{f['ratio_median']:.2f}x ({f['ratio_range'][0]:.2f}-{f['ratio_range'][1]:.2f})"
                if f["ratio_median"]
                else "-",
                f"local {codes(local)}; cluster {codes(cluster)}",
            ]
        )
    return rows, figures


def report(data: dict[str, Any], conns: int) -> tuple[str, dict[str, Any]]:
    lat_rows, lat = latency_rows(data["latency"])
    tput_rows, tput = throughput_rows(data["throughput"])
    text = "\n\n".join(
        [
            common.table(
                ["echo, 1 connection", "200s", "p50 ms", "p99 ms", "per-round p50 ms"], lat_rows
            ),
            common.table(
                [
                    f"script, {conns} connections",
                    "local req/s",
                    "local p50 / p99 ms",
                    "cluster req/s",
                    "cluster p50 / p99 ms",
                    "cluster / local (median, range)",
                    "answers",
                ],
                tput_rows,
            ),
        ]
    )
    return text, {"latency": lat, "throughput": tput}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=500, help="per round and target")
    parser.add_argument("--conns", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    common.cluster_arguments(parser)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.requests, args.seconds = 2, 100, 3.0
    cluster_env = common.cluster_environment(args)
    work = common.private_home()
    started, clock, before = dt.datetime.now(dt.UTC), time.monotonic(), common.machine()
    from dockyard import AksWebservice, LocalWebservice, Workspace  # reason: after private_home()

    try:
        with common.cluster(work, args.address, args.serve_port, cpus=2) as found:
            ws = Workspace.create("cluster-proxy", path=str(work / "ws"), show_output=False)
            target = common.attach(ws, "proxy-ray", found)
            model = common.placeholder_model(ws, work)
            limits = {"replica_max_concurrent_requests": 1, "max_request_wait_time": 500}
            services: dict[tuple[str, str], Any] = {}
            try:
                for script, text in (("echo", common.ECHO), ("sleep50", common.SLEEPY)):
                    services["local", script] = common.deploy(
                        ws, work, f"local-{script}", text,
                        LocalWebservice.deploy_configuration(**limits), model=model,
                    )  # fmt: skip
                    services["cluster", script] = common.deploy(
                        ws, work, f"cluster-{script}", text,
                        AksWebservice.deploy_configuration(
                            num_replicas=1, cpu_cores=0.1, memory_gb=0.1, auth_enabled=False,
                            **limits,
                        ),
                        target, model,
                    )  # fmt: skip
                uris = {key: s.scoring_uri for key, s in services.items()}
                data = run(args, uris)
            finally:
                for service in services.values():
                    service.delete()
                target.delete()  # attached: only forgotten
    finally:
        common.cleanup(work)
    wall = time.monotonic() - clock
    text, figures = report(data, args.conns)
    facts = common.header(started, wall, before)
    for rounds in data["latency"].values():
        for r in rounds:
            r.pop("latencies_ms")
    path = common.write_result(
        "proxy",
        {
            "started": started.isoformat(),
            "wall_s": wall,
            "machine": before,
            "loadavg_after": common.machine()["loadavg"],
            "versions": common.versions(),
            "settings": vars(args),
            "cluster_environment": cluster_env,
            "figures": figures,
            "raw": data,
        },
        quick=args.quick,
    )
    print(f"\n{facts} Cluster: {cluster_env}.\nRaw results: {path}\n\n{text}")


if __name__ == "__main__":
    main()
