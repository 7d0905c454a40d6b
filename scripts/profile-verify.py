#!/usr/bin/env python3
"""Where a verification's time goes, from the profiles scripts/bench-verify
takes with BENCH_PROFILE=<dir> (docs/design.md#quality-bars: a target missed is explained per
component, in microseconds per call).

  profile-verify.py components RUNS WORKDIR
      RUNS: lines "name rps p50 p99 errors requests refusals cpu_us drain_s"
      (one per profiled workload); WORKDIR/<name>.samples: `perf script -F
      comm,ip,sym,dso` of the server's threads over that run and its log's
      catching up. Prints each component's CPU microseconds per call: its
      share of the samples times the run's CPU per call (from /proc).

  profile-verify.py waits TIMEHIST SECONDS
      TIMEHIST: `perf sched timehist --state` of the server's core during a
      run at saturation. Prints how often the request thread waited longer than
      2 ms for the core (what a p99 under 2 ms cannot have), and which
      threads held the core meanwhile.
"""
import collections
import re
import sys

# The request thread's time by what runs (first match wins); the writers'
# and the pool's threads are components of their own.
REQUEST_PARTS = [
    ("kernel: sockets, TCP, epoll", lambda sym, dso: dso.startswith("[kernel")),
    ("memory: malloc, free, memcpy", lambda sym, dso: "libc" in dso),
    ("HTTP: hyper", lambda sym, dso: "hyper" in sym),
    ("routing, middleware: axum, tower", lambda sym, dso: re.search(r"\b(axum|tower|tower_http|http)::", sym)),
    ("runtime: tokio, mio", lambda sym, dso: re.search(r"\b(tokio|mio)::", sym)),
    ("JSON: serde_json", lambda sym, dso: "serde_json" in sym or "serde::" in sym),
    ("key hash: sha2", lambda sym, dso: "sha2" in sym or "sha256" in sym.lower()),
    ("verify: key cache", lambda sym, dso: "verify::cache" in sym),
    ("verify: rate limiter", lambda sym, dso: "verify::ratelimit" in sym),
    ("verify: usage record", lambda sym, dso: "verify::usage" in sym),
    ("verify: handler, answer", lambda sym, dso: "server::" in sym or "app::" in sym),
]
THREADS = [
    ("keywarden-usa", "counts writer"),
    ("keywarden-log", "log writer (nice 10)"),
    ("keywarden-cat", "catch-up log writer (nice 5)"),
    ("sqlx-sqlite", "pool connections"),
]


def component(comm, sym, dso):
    for prefix, name in THREADS:
        if comm.startswith(prefix):
            # SQLite is linked into the binary; most of its functions are
            # static (no sqlite3 prefix), so user space is counted whole.
            return f"{name}: {'kernel' if dso.startswith('[kernel') else 'user space (SQLite)'}"
    for name, matches in REQUEST_PARTS:
        if matches(sym, dso):
            return f"request thread: {name}"
    return "request thread: other"


def read_samples(path):
    """(comm, sym, dso) per sample of `perf script -F comm,ip,sym,dso`."""
    out = []
    for line in open(path, errors="replace"):
        line = line.strip()
        if not line:
            continue
        # "comm ip sym (dso)"
        m = re.match(r"^(.+?)\s+[0-9a-f]+\s+(.*?)\s*\(([^()]*)\)$", line)
        if m:
            out.append(m.groups())
    return out


def components(runs_path, workdir):
    runs = []
    for line in open(runs_path):
        name, _rps, _p50, _p99, _err, requests, _ref, cpu_us, _drain = line.split()
        runs.append((name, float(cpu_us) / max(int(requests), 1)))
    table = collections.defaultdict(dict)
    totals = {}
    for name, per_call in runs:
        samples = read_samples(f"{workdir}/{name}.samples")
        if not any(dso.startswith("[kernel") for _, _, dso in samples):
            sys.exit(f"{name}: no kernel samples (perf needs root or kernel.perf_event_paranoid=-1)")
        counts = collections.Counter(component(*s) for s in samples)
        total = sum(counts.values()) or 1
        for comp, n in counts.items():
            table[comp][name] = n / total * per_call
        totals[name] = (per_call, total)
    names = [n for n, _ in runs]
    print("CPU microseconds per call, by component (perf samples x CPU per call from /proc):")
    print(f"{'component':58}" + "".join(f"{n:>17}" for n in names))
    order = sorted(table, key=lambda c: -max(table[c].values()))
    for comp in order:
        if max(table[comp].values()) < 0.05:
            continue
        print(f"{comp:58}" + "".join(f"{table[comp].get(n, 0.0):17.2f}" for n in names))
    print(f"{'all (samples)':58}" + "".join(f"{totals[n][0]:11.2f} ({totals[n][1]})" for n in names))


def is_request(task):
    """Whether a thread serves requests (tokio's workers)."""
    return task.startswith("tokio-")


def waits(timehist_path, seconds):
    """The request thread's waits for the core longer than 2 ms, and who ran.

    TIMEHIST is `perf sched timehist --state`: a line per switch, the task
    switched out, its run time and the state it left in. After a run that
    ended preempted (R) the whole gap until its next run is a wait for the
    core; after a sleep only the scheduling delay of its wakeup is."""
    runs = []  # (start, end, task, state, sch_delay)
    for line in open(timehist_path):
        parts = line.split()
        if len(parts) < 7 or not re.match(r"^\d+\.\d+$", parts[0]):
            continue
        try:
            end, delay_ms, run_ms = float(parts[0]), float(parts[4]), float(parts[5])
        except ValueError:
            continue
        task = re.sub(r"\[\d+(/\d+)?\]$", "", parts[2])
        runs.append((end - run_ms / 1000, end, task, parts[6], delay_ms / 1000))
    if not runs:
        sys.exit(f"no scheduler events in {timehist_path}: perf sched needs root or kernel.perf_event_paranoid=-1")
    runs.sort()
    request = [r for r in runs if is_request(r[2])]
    gaps, holders = [], collections.Counter()
    longest = collections.defaultdict(float)
    for (_, end, _, state, _), (start, _, _, _, delay) in zip(request, request[1:]):
        waited_from = end if state == "R" else start - delay
        if start - waited_from > 0.002:
            gaps.append((start - waited_from) * 1000)
            for s, e, task, _, _ in runs:
                if e > waited_from and s < start and not is_request(task):
                    holders[task] += min(e, start) - max(s, waited_from)
                    longest[task] = max(longest[task], (e - s) * 1000)
    gaps.sort()
    print(f"request thread's waits for the core over 2 ms: {len(gaps)} in {seconds} s"
          + (f" (median {gaps[len(gaps) // 2]:.1f} ms, longest {gaps[-1]:.1f} ms)" if gaps else ""))
    total = sum(holders.values()) or 1
    for task, held in holders.most_common(6):
        print(f"  core held by {task}: {held / total * 100:.0f} % of those waits, longest run {longest[task]:.1f} ms")
    others = collections.Counter()
    for s, e, task, _, _ in runs:
        if not is_request(task) and task != "<idle>" and e - s > 0.002:
            others[task] += 1
    print("runs over 2 ms of other threads on the core: "
          + (", ".join(f"{t} {n}" for t, n in others.most_common(6)) or "none"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["components"]:
        components(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["waits"]:
        waits(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
