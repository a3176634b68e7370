"""`make bench`: how long the nightly run takes and how much memory it needs, measured.

For a province-scale demo world (scale 5: ~1 M listing rows, ~31 k complaints over 18
months) and a national-scale one (scale 50: ~10 M listing rows), it measures

- the floor: DuckDB reading every delivered CSV, JSON Lines and Parquet file once (files
  DuckDB cannot read offline, GB18030 text and Excel, are read by the pipeline's readers);
- each stage of `flows/stages.py`, run in order in one process as the nightly flow runs
  them: a cold run on an empty warehouse, then an incremental run after one more day of
  files (a day of complaints and one more listing snapshot, dated the next day);
- one whole `radar run` (the Prefect flow, with no Prefect server running, so starting
  the temporary server counts), cold and incremental.

Every measured run is a process of its own: its peak memory is the kernel's high-water
mark of its resident memory (reset before each stage), which counts what Polars and
DuckDB allocate outside Python; for `radar run` the peak includes its child processes.
The results are printed and written between the markers of BENCHMARKS.md.

    python -m tools.bench                  # both worlds
    python -m tools.bench --national 0     # the province world only
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import inspect
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from flows.settings import PROJECT_ROOT

BENCHMARKS_MD = PROJECT_ROOT / "BENCHMARKS.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
SEED = 7


@dataclass(frozen=True)
class World:
    """A demo world to measure, and the targets of issue 22 for it (issue 9's were 45 s cold
    and 20 s incremental for the province, 5 minutes for the national world)."""

    name: str
    scale: float
    cold_target_s: float
    floor_factor: float | None = None  # cold run at most this many times the floor
    incremental_target_s: float | None = None
    memory_target_mb: float | None = None


PROVINCE = World("province", 5, cold_target_s=30, floor_factor=8, incremental_target_s=12)
NATIONAL = World("national", 50, cold_target_s=180, memory_target_mb=8 * 1024)


@dataclass
class Step:
    """One measured step: its wall time and the peak resident memory while it ran."""

    name: str
    seconds: float
    peak_mb: float
    note: str = ""


@dataclass
class Measured:
    """All steps of one measured run; `problem` says why it did not finish, if it did not."""

    steps: list[Step] = field(default_factory=list)
    problem: str = ""

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def peak_mb(self) -> float:
        return max((s.peak_mb for s in self.steps), default=0.0)


# --- peak memory ------------------------------------------------------------------------


def reset_peak_memory() -> None:
    """Reset this process's high-water mark of resident memory (Linux; ignored elsewhere)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mb() -> float:
    """This process's peak resident memory since the last reset, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, work: Callable[[], Any]) -> tuple[Step, Any]:
    """Run `work`, timing it and taking this process's peak memory while it ran."""
    reset_peak_memory()
    start = time.perf_counter()
    result = work()
    return Step(name, time.perf_counter() - start, peak_memory_mb()), result


class TreeMemory:
    """Samples the resident memory of a process and all its descendants in a thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            with contextlib.suppress(psutil.Error):
                for p in [self.process, *self.process.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


# --- the measured runs, each in a process of its own -------------------------------------


class StepLog:
    """Steps written as JSON lines when they start and end, so that a run stopped half-way
    (time limit, out of memory) still tells how far it got."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, name: str, work: Callable[[], Any]) -> tuple[Step, Any]:
        self._write({"started": name, "at": time.time()})
        return measure(name, work)

    def done(self, step: Step) -> None:
        self._write(asdict(step))
        print(f"  {step.name}: {step.seconds:.1f} s, peak {step.peak_mb:,.0f} MB", flush=True)

    def _write(self, entry: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")

    def read(self, problem: str, peak_mb: float) -> Measured:
        """The finished steps, then the step that was running when the run stopped."""
        measured, running = Measured(problem=problem), None
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        for entry in map(json.loads, lines):
            if "started" in entry:
                running = entry
            else:
                measured.steps.append(Step(**entry))
                running = None
        if running is not None:
            elapsed = time.time() - running["at"]
            measured.steps.append(
                Step(running["started"], elapsed, peak_mb, f"unfinished: {problem}")
            )
        return measured


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f}-minute" if seconds >= 60 else f"{seconds:.0f}-second"


def in_own_process(fn: Callable[..., None], *args: Any, log: Path, limit_s: float) -> Measured:
    """`fn(*args, StepLog(log))` in a fresh process, stopped after `limit_s` seconds."""
    log.unlink(missing_ok=True)
    process = get_context("spawn").Process(target=fn, args=(*args, StepLog(log)))
    process.start()
    assert process.pid is not None
    memory = TreeMemory(process.pid)
    process.join(limit_s)
    problem = ""
    if process.is_alive():
        process.kill()
        process.join()
        problem = f"stopped at the {_duration(limit_s)} limit"
    elif process.exitcode:
        problem = f"failed (exit code {process.exitcode})"
    return StepLog(log).read(problem, memory.stop())


def _call(fn: Callable[..., Any], context: dict[str, Any]) -> Any:
    """Call a stage with the arguments it names (stage signatures grow over time)."""
    names = inspect.signature(fn).parameters
    return fn(**{n: context[n] for n in names if n in context})


def run_stages(landing: Path, warehouse: Path, out: Path, as_of: dt.date, log: StepLog) -> None:
    """The stages of the nightly run in the order of `flows.nightly._run_stages`, each timed,
    on one connection."""
    from flows import stages
    from reports.build import build_reports
    from transforms.runs import start_run
    from transforms.warehouse import connect

    con = connect(warehouse)
    run_id = uuid.uuid4().hex
    start_run(con, run_id, as_of)  # as the flow does first (the dossiers read ops.runs)
    context: dict[str, Any] = {
        "con": con,
        "landing": landing,
        "run_id": run_id,
        "as_of": as_of,
        "lookback_days": 90,
        "out_dir": out / as_of.isoformat(),
    }
    plan: list[tuple[str, Callable[..., Any] | None, str | None]] = [
        ("ingest", stages.ingest, "report"),
        ("validate", stages.validate_with_gx, "validations"),
        ("freshness", stages.check_freshness, None),
        ("train", getattr(stages, "train_model", None), None),
        ("resolve", stages.resolve, None),
        ("features", stages.build_features, None),
        ("leads", stages.score_leads, "leads"),
        ("hotspots", stages.score_hotspots, "hotspots"),
        ("surges", stages.detect_surges, "alerts"),
        ("export", stages.export_all, None),
        ("reports", build_reports, None),
    ]
    try:
        for name, fn, key in plan:
            if fn is None:
                continue
            step, result = log.run(name, partial(_call, fn, context))
            if key is not None:
                context[key] = result
            if name == "ingest":
                context["scan"] = result.scan
                step.note = f"{result.new_files} new files"
            if name == "train" and isinstance(result, dict):
                step.note = "trained" if result.get("trained") else str(result.get("reason", ""))
            log.done(step)
    finally:
        con.close()


def read_floor(landing: Path, database: Path, log: StepLog) -> None:
    """DuckDB reading every delivered file once into a table (the floor of ingestion)."""
    import duckdb

    from data_contracts.readers import FileRejected, file_format, read_bytes
    from transforms.landing import scan_landing

    spent: dict[str, float] = {}

    def read_all() -> int:
        con = duckdb.connect(str(database))
        tables = 0
        try:
            for i, f in enumerate(scan_landing(landing).files):
                fmt = file_format(f.path)
                if fmt is None:
                    continue
                start = time.perf_counter()
                how = f"DuckDB {fmt}"
                try:
                    if not _duckdb_reads(con, fmt, f.path, f"t{i}"):
                        how = f"pipeline reader {fmt}"
                        cells = read_bytes(f.path.read_bytes(), fmt).cells
                        con.register("cells", cells)
                        con.execute(f"create table t{i} as select * from cells")
                        con.unregister("cells")
                    tables += 1
                except (duckdb.Error, FileRejected):
                    pass  # unreadable files are rejected by the pipeline too
                spent[how] = spent.get(how, 0.0) + time.perf_counter() - start
        finally:
            con.close()
        return tables

    database.unlink(missing_ok=True)
    step, tables = log.run("read every file", read_all)
    kinds = ", ".join(f"{how} {s:.1f} s" for how, s in sorted(spent.items(), key=lambda x: -x[1]))
    step.note = f"{tables} files: {kinds}"
    log.done(step)
    database.unlink(missing_ok=True)


def _duckdb_reads(con: Any, fmt: str, path: Path, table: str) -> bool:
    """Load one file with DuckDB's own reader; False when it cannot read it offline."""
    if fmt == "parquet":
        con.execute(f"create table {table} as select * from read_parquet(?)", [str(path)])
    elif fmt == "jsonl":
        con.execute(
            f"create table {table} as select * from read_json(?, format = 'newline_delimited', "
            "ignore_errors = true)",
            [str(path)],
        )
    elif fmt == "csv":
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            return False  # GB18030: the encodings extension is not available offline
        con.execute(
            f"create table {table} as select * from read_csv(?, all_varchar = true, "
            "strict_mode = false, null_padding = true, ignore_errors = true)",
            [str(path)],
        )
    else:
        return False
    return True


def radar_run(
    landing: Path, warehouse: Path, out: Path, as_of: dt.date, log: Path, limit_s: float
) -> Measured:
    """One `radar run` (the Prefect flow, with a temporary server), timed as a whole."""
    import psutil

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    command = [sys.executable, "-m", "flows.cli", "run", "--landing", str(landing)]
    command += ["--warehouse", str(warehouse), "--out", str(out), "--as-of", as_of.isoformat()]
    start = time.perf_counter()
    problem = ""
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        memory = TreeMemory(process.pid)
        try:
            code = process.wait(limit_s)
        except subprocess.TimeoutExpired:
            started = psutil.Process(process.pid).children(recursive=True)
            for child in [*started, psutil.Process(process.pid)]:
                with contextlib.suppress(psutil.Error):
                    child.kill()
            code = process.wait()
            problem = f"stopped at the {_duration(limit_s)} limit"
    if code and not problem:
        problem = f"failed (exit code {code}), see {log}"
    return Measured([Step("radar run", time.perf_counter() - start, memory.stop())], problem)


# --- the worlds -------------------------------------------------------------------------


def prepare_world(root: Path, world: World) -> tuple[Path, dict[str, Any]]:
    """The world's directory, generated unless a world of the same seed and scale is there."""
    from demo_world.generate import WorldConfig, generate_world

    directory = root / world.name
    summary_path = directory / "bench_world.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if summary.get("seed") == SEED and summary.get("scale") == world.scale:
            return directory, summary
    start = time.perf_counter()
    summary = generate_world(directory, WorldConfig(seed=SEED, scale=world.scale))
    summary |= {"seed": SEED, "scale": world.scale}
    summary["generate_seconds"] = round(time.perf_counter() - start, 1)
    summary_path.write_text(json.dumps(summary, indent=1))
    return directory, summary


def next_day_files(landing: Path, as_of: dt.date, target: Path) -> list[str]:
    """Write the files of the day after `as_of` under `target` (laid out like the landing dir):
    that day's complaints (the as-of day's again, with new ids) and a listing snapshot
    (the last one again, dated that day). Returns their paths relative to the landing dir."""
    import polars as pl

    from data_contracts.contract import contracts
    from data_contracts.readers import FileRejected, decode_text, file_format, read_bytes
    from demo_world.landing import epoch_seconds

    day = as_of + dt.timedelta(days=1)
    if target.exists():
        shutil.rmtree(target)
    written: list[str] = []

    def put(rel: str, data: bytes, hour: int) -> None:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = epoch_seconds(dt.datetime.combine(day, dt.time(hour)))
        os.utime(path, (stamp, stamp))
        written.append(rel)

    snapshots = sorted(p for p in (landing / "listings").iterdir() if p.is_dir())
    last = snapshots[-1].name
    for path in sorted(snapshots[-1].iterdir()):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            old = dt.date.fromisoformat(last)
            frame = frame.with_columns(
                pl.when(pl.col(c) == old).then(pl.lit(day)).otherwise(pl.col(c)).alias(c)
                for c, t in frame.schema.items()
                if t == pl.Date
            )
            buffer = io.BytesIO()
            frame.write_parquet(buffer)
            put(f"listings/{day}/{path.name}", buffer.getvalue(), 6)
        elif path.suffix == ".csv":
            text, encoding = decode_text(path.read_bytes())
            text = text.replace(last, day.isoformat())
            put(f"listings/{day}/{path.name}", text.encode(encoding), 6)

    complaints = contracts()["complaints"]
    header_map = complaints.header_map
    rows: list[list[str]] = []
    for path in sorted((landing / "complaints").rglob("*")):
        fmt = file_format(path)
        if fmt is None or not path.is_file():
            continue
        try:
            table = read_bytes(path.read_bytes(), fmt)
        except FileRejected:
            continue
        names = [header_map.get(h.strip().lower(), h) for h in table.headers]
        if "received_at" not in names or "complaint_id" not in names:
            continue
        for record in table.cells.drop("_row_number").iter_rows():
            row = dict(zip(names, record, strict=True))
            if str(row["received_at"] or "").startswith(as_of.isoformat()):
                row["received_at"] = str(row["received_at"]).replace(
                    as_of.isoformat(), day.isoformat(), 1
                )
                row["complaint_id"] = f"{row['complaint_id']}-{day:%m%d}"
                rows.append([row.get(c.name) or "" for c in complaints.columns])
    day_file = io.StringIO()
    writer = csv.writer(day_file, lineterminator="\n")
    writer.writerow([c.name for c in complaints.columns])
    writer.writerows(rows)
    put(f"complaints/daily/{day}.csv", day_file.getvalue().encode("utf-8"), 22)
    return written


@dataclass
class WorldResult:
    """Everything measured on one world."""

    world: World
    summary: dict[str, Any]
    next_day: list[str]
    floor: Measured
    cold: Measured
    incremental: Measured
    cold_radar: Measured
    incremental_radar: Measured


def bench_world(root: Path, world: World, limit_s: float) -> WorldResult:
    """Floor, cold and incremental runs (stage by stage, and as one `radar run`) on a world.

    A `radar run` is skipped when the same run stage by stage did not finish: it would do
    the same work and stop at the same place.
    """
    directory, summary = prepare_world(root, world)
    landing = directory / "landing"
    as_of = dt.date.fromisoformat(summary["as_of"])
    day = as_of + dt.timedelta(days=1)
    work = root / f"{world.name}-runs"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    next_day = next_day_files(landing, as_of, work / "next_day")
    _remove(landing, next_day)  # a world left over from an interrupted bench
    stages_db, out = work / "stages.duckdb", work / "out"

    def stage_run(title: str, when: dt.date) -> Measured:
        print(f"[{world.name}] {title}, stage by stage", flush=True)
        log = work / f"{title.split()[0]}.steps.jsonl"
        return in_own_process(run_stages, landing, stages_db, out, when, log=log, limit_s=limit_s)

    def radar(title: str, when: dt.date, like: Measured) -> Measured:
        if like.problem:
            return Measured(problem="skipped: the stage-by-stage run did not finish")
        print(f"[{world.name}] {title}: radar run", flush=True)
        log = work / f"{title.split()[0]}.radar.log"
        return radar_run(landing, work / "radar.duckdb", out, when, log, limit_s)

    print(f"[{world.name}] floor: DuckDB reads every file", flush=True)
    floor = in_own_process(
        read_floor, landing, work / "floor.duckdb", log=work / "floor.jsonl", limit_s=limit_s
    )
    cold = stage_run("cold run", as_of)
    cold_radar = radar("cold run", as_of, cold)
    try:
        for rel in next_day:
            target = landing / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / "next_day" / rel, target)
        incremental = stage_run(f"incremental run after {day}", day)
        incremental_radar = radar("incremental run", day, incremental)
    finally:
        _remove(landing, next_day)
    return WorldResult(
        world, summary, next_day, floor, cold, incremental, cold_radar, incremental_radar
    )


def _remove(landing: Path, rels: list[str]) -> None:
    for rel in rels:
        path = landing / rel
        path.unlink(missing_ok=True)
        if path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()


# --- the report -------------------------------------------------------------------------


def machine(load_at_start: float | None = None) -> str:
    """The machine in one line: cores, memory, CPU model, Python, DuckDB and Polars versions,
    and the load average when the bench started (`load_at_start`) and now, at its end."""
    import duckdb
    import polars as pl

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f"{kb / 2**20:.0f} GB memory"
    except (OSError, StopIteration):
        memory = "memory unknown"
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"Polars {pl.__version__}; load average {_load(load_at_start)}"
    )


def _load(load_at_start: float | None) -> str:
    # Written when the report is, after the runs: the load at the end alone was once given as
    # the load "at start" (3.5 for a run that started at 8 and whose training ran at 8-14).
    now = os.getloadavg()
    end = f"{now[0]:.1f} at the end (5-minute {now[1]:.1f}, 15-minute {now[2]:.1f})"
    return end if load_at_start is None else f"{load_at_start:.1f} at the start, {end}"


def _seconds(m: Measured) -> str:
    if not m.steps:
        return "–"
    return f"≥ {m.seconds:.0f}" if m.problem else f"{m.seconds:.1f}"


def _target(m: Measured, value: float, limit: float | None, unit: str = "s") -> str:
    """Whether a finished run met its limit; an unfinished one says why it did not finish."""
    if m.problem and (limit is None or value <= limit):
        return m.problem
    if limit is None:
        return ""
    verdict = "met" if value <= limit else "NOT met"
    return f"{verdict} (≤ {limit:g} {unit})" + (f"; {m.problem}" if m.problem else "")


def world_report(r: WorldResult) -> str:
    """The markdown tables of one world: the targets, then every stage."""
    w, s = r.world, r.summary
    rows = s.get("rows", {})
    lines = [
        f"### {w.name.title()} world (scale {w.scale:g})",
        "",
        f"{rows.get('listings', 0):,} listing rows, {rows.get('complaints', 0):,} complaints, "
        f"{s.get('files_written', 0)} files; as of {s['as_of']}. The next day adds "
        f"{len(r.next_day)} files (a day of complaints and a listing snapshot).",
        "",
        "| measure | seconds | peak memory (MB) | target |",
        "|---|---:|---:|---|",
    ]
    cold, inc = r.cold_radar, r.incremental_radar
    measures = [
        ("floor: DuckDB reads every file once", r.floor, _target(r.floor, 0, None)),
        ("cold: stages in one process", r.cold, _target(r.cold, 0, None)),
        ("cold: `radar run`", cold, _target(cold, cold.seconds, w.cold_target_s)),
        ("incremental: stages in one process", r.incremental, _target(r.incremental, 0, None)),
        ("incremental: `radar run`", inc, _target(inc, inc.seconds, w.incremental_target_s)),
    ]
    for label, m, target in measures:
        lines.append(f"| {label} | {_seconds(m)} | {m.peak_mb:,.0f} | {target} |")
    if w.floor_factor is not None and r.floor.seconds > 0 and cold.steps:
        ratio = cold.seconds / r.floor.seconds
        target = _target(cold, ratio, w.floor_factor, "× the floor")
        lines.append(f"| cold `radar run` ÷ floor | {ratio:.1f}× | | {target} |")
    if w.memory_target_mb is not None:
        both = Measured(r.cold.steps + cold.steps, r.cold.problem or cold.problem)
        target = _target(both, both.peak_mb, w.memory_target_mb, "MB")
        lines.append(f"| peak memory, cold | | {both.peak_mb:,.0f} | {target} |")
    lines += [
        "",
        f"Floor: {r.floor.steps[0].note}." if r.floor.steps else "",
        "",
        "| stage | cold s | cold peak MB | incremental s | incremental peak MB | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    later = {x.name: x for x in r.incremental.steps}
    for step in r.cold.steps:
        nxt = later.get(step.name, Step(step.name, 0.0, 0.0))
        notes = "; ".join(n for n in (step.note, nxt.note) if n)
        lines.append(
            f"| {step.name} | {step.seconds:.1f} | {step.peak_mb:,.0f} | {nxt.seconds:.1f} | "
            f"{nxt.peak_mb:,.0f} | {notes} |"
        )
    lines.append(
        f"| **total** | **{_seconds(r.cold)}** | {r.cold.peak_mb:,.0f} | "
        f"**{_seconds(r.incremental)}** | {r.incremental.peak_mb:,.0f} | |"
    )
    return "\n".join(lines)


def report(results: list[WorldResult], started: str, load_at_start: float | None = None) -> str:
    """The measured part of BENCHMARKS.md."""
    parts = [
        f"Measured {started} by `make bench` on: {machine(load_at_start)}.",
        "",
        *[world_report(r) + "\n" for r in results],
    ]
    return "\n".join(parts).rstrip() + "\n"


def write_between_markers(path: Path, measured: str, start: str, end: str, title: str) -> None:
    """Put `measured` between the `start` and `end` markers of the Markdown file `path`,
    keeping the text around them (a new file gets the heading `title` and the markers)."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"# {title}\n\n{start}\n{end}\n"
    if start not in text or end not in text:
        text = text.rstrip() + f"\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{start}\n{measured}{end}{tail}", encoding="utf-8")


def write_benchmarks(measured: str, path: Path = BENCHMARKS_MD) -> None:
    """Put the measured part between the markers of BENCHMARKS.md, keeping the text around it."""
    write_between_markers(path, measured, START, END, "Benchmarks")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--dir", type=Path, default=PROJECT_ROOT / "data" / "bench")
    parser.add_argument("--national", type=int, default=1, help="0 skips the national world")
    parser.add_argument("--province", type=int, default=1, help="0 skips the province world")
    parser.add_argument("--output", type=Path, default=BENCHMARKS_MD)
    parser.add_argument(
        "--limit-minutes", type=float, default=30, help="stop a measured run after this long"
    )
    args = parser.parse_args(argv)
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    load_at_start = os.getloadavg()[0]
    worlds = [w for w, on in ((PROVINCE, args.province), (NATIONAL, args.national)) if on]
    results = [bench_world(args.dir, w, args.limit_minutes * 60) for w in worlds]
    measured = report(results, started, load_at_start)
    print("\n" + measured)
    write_benchmarks(measured, args.output)
    (args.dir / "results.json").write_text(
        json.dumps([asdict(r) for r in results], indent=1, default=str)
    )


if __name__ == "__main__":
    main()
