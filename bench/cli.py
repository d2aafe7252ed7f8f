"""The bench's commands. Each starts its own Asterisk ("bench") and call service and stops them after."""

from __future__ import annotations

from pathlib import Path

import typer

from bench.dtmf import digit_packets, write_pcap
from bench.report import Table2, fmt, say
from bench.session import latency_table, measure_latency, profile_tables, session, step_table
from bench.soak import soak as run_soak
from bench.steps import PATHS, ramp, sustained

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help=(
        "Siaga's load benchmark. SIPp callers dial 112 (our call service) or 9112 (the same menu in plain "
        "dialplan, the baseline; 9113: the baseline recording each call, as ours does) on a bench-only "
        "Asterisk instance, press 9,1,2 (RFC 4733) and talk to an agency line (a Local channel) for a few "
        "seconds. Results go to var/bench/<time>/ (results.md, results.json, SIPp files, service log)."
    ),
)

DB = typer.Option(
    "sqlite",
    "--db",
    help="Case database: sqlite (a file in the run folder) or postgres "
    "(database siaga_bench at 127.0.0.1:5432, recreated).",
)
HOLD = typer.Option(
    7.0, "--hold", help="Seconds a caller stays on after the answer (digits take ~2.8 s; the rest is talk)."
)
RING = typer.Option(0.3, "--ring", help="Seconds an agency line rings before it answers.")
MAX_INVITE = typer.Option(100.0, "--max-invite-ms", help="A step fails when INVITE->200 p99 passes this.")
OUT = typer.Option(None, "--out", help="Run folder (default var/bench/<time>).")


RATES = "2,5,8,10,15,20,30,40,60,80,100,120"


def _rates(text: str) -> list[float]:
    return [float(r) for r in text.split(",") if r.strip()]


PATHS_HELP = (
    "Which paths, comma-separated: siaga (ours), baseline (plain dialplan), baseline-rec (the baseline "
    "recording each call from its arrival with MixMonitor, as the dialplan does for ours)."
)


def _paths(text: str) -> tuple[str, ...]:
    chosen = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PATHS]
    if unknown or not chosen:
        raise typer.BadParameter(
            f"unknown path {', '.join(unknown) or '(none given)'}; choose from {', '.join(PATHS)}", param_hint="--paths"
        )
    return chosen


@app.command()
def run(
    rates: str = typer.Option(RATES, help="Rates (calls/s) to step through, comma-separated."),
    step_seconds: float = typer.Option(30.0, help="Seconds of arrivals per step (calls = rate x this)."),
    max_calls: int = typer.Option(5000, help="Upper bound on the calls of one step."),
    latency_seconds: float = typer.Option(30.0, help="Seconds of arrivals for the latency run."),
    soak_minutes: float = typer.Option(0.0, help="Then soak at half our sustained rate this long (0: no soak)."),
    db: str = DB,
    hold: float = HOLD,
    ring: float = RING,
    max_invite_ms: float = MAX_INVITE,
    out: Path = OUT,
) -> None:
    """Ramp both paths to their sustained rates, compare, then measure latencies (and optionally soak)."""
    with session(db=db, hold_s=hold, ring_s=ring, max_invite_ms=max_invite_ms, out=out) as (runner, report):
        steps = ramp(runner, _rates(rates), step_seconds, max_calls)
        table = step_table("Load steps (sustained rate = last step that passed)", steps["siaga"] + steps["baseline"])
        ours, base = sustained(steps["siaga"]), sustained(steps["baseline"])
        ratio = (ours or 0) / base if base else None
        summary = Table2("Sustained rates", ["path", "sustained calls/s"])
        summary.add("siaga (ours)", fmt(ours, 0) if ours else "none")
        summary.add("baseline (plain dialplan)", fmt(base, 0) if base else "none")
        summary.add("ratio ours/baseline", fmt(ratio, 2))
        for t in (table, summary):
            t.show()
        report.add("steps", steps, table.markdown())
        report.add("sustained", {"siaga": ours, "baseline": base, "ratio": ratio}, summary.markdown())

        if base and ours:
            rate = min(base, ours)
            why = "the baseline's sustained rate" if base <= ours else "our sustained rate (lower than the baseline's)"
        else:
            rate = float(_rates(rates)[0])
            why = "the lowest rate (a path sustained none)"
        say(f"[bold]latency run at {rate:g} calls/s ({why})[/]")
        results, latency_steps = {}, []
        for path in ("siaga", "baseline"):
            step, results[path] = measure_latency(runner, path, rate, latency_seconds)
            latency_steps.append(step)
        lt = latency_table(f"Latencies at {rate:g} calls/s ({why}), Asterisk event timestamps", results)
        st = step_table(f"The latency run's steps (observer connected) at {rate:g} calls/s", latency_steps)
        for t in (st, lt):
            t.show()
        report.add(
            "latency",
            {"rate": rate, "why": why, "steps": latency_steps, "ms": results},
            st.markdown() + "\n" + lt.markdown(),
        )
        if soak_minutes > 0 and ours:
            _soak(runner, report, ours / 2, soak_minutes)
        say(f"results: {runner.folder / 'results.md'}")


@app.command("ramp")
def ramp_only(
    rates: str = typer.Option(RATES, help="Rates (calls/s) to step through, comma-separated."),
    paths: str = typer.Option("siaga,baseline", help=PATHS_HELP),
    step_seconds: float = typer.Option(30.0, help="Seconds of arrivals per step (calls = rate x this)."),
    max_calls: int = typer.Option(5000, help="Upper bound on the calls of one step."),
    db: str = DB,
    hold: float = HOLD,
    ring: float = RING,
    max_invite_ms: float = MAX_INVITE,
    out: Path = OUT,
    setting: list[str] = typer.Option(
        [],
        help="A call-service setting for an A/B, as its environment variable: "
        "SIAGA_ARI__REST_OVER_WEBSOCKET=false (repeatable).",
    ),
) -> None:
    """Only the load steps (e.g. a finer ramp of one path); no latency run."""
    service_env, chosen = dict(_setting(s) for s in setting), _paths(paths)
    with session(db=db, hold_s=hold, ring_s=ring, max_invite_ms=max_invite_ms, out=out, service_env=service_env) as (
        runner,
        report,
    ):
        steps = ramp(runner, _rates(rates), step_seconds, max_calls, paths=chosen)
        table = step_table("Load steps (sustained rate = last step that passed)", [s for p in chosen for s in steps[p]])
        summary = Table2("Sustained rates", ["path", "sustained calls/s"])
        for path in chosen:
            summary.add(path, fmt(sustained(steps[path]), 0) if sustained(steps[path]) else "none")
        for t in (table, summary):
            t.show()
        report.add("steps", steps, table.markdown() + "\n" + summary.markdown())


@app.command()
def latency(
    rate: float = typer.Option(..., help="Calls/s during the measurement."),
    seconds: float = typer.Option(30.0, help="Seconds of arrivals."),
    paths: str = typer.Option("siaga,baseline", help=PATHS_HELP),
    profile: bool = typer.Option(
        False, help="Sample the call service with py-spy during its step (pip install py-spy)."
    ),
    db: str = DB,
    hold: float = HOLD,
    ring: float = RING,
    max_invite_ms: float = MAX_INVITE,
    out: Path = OUT,
) -> None:
    """Only the latency measurement (passive ARI observer) at one rate."""
    chosen = _paths(paths)
    with session(db=db, hold_s=hold, ring_s=ring, max_invite_ms=max_invite_ms, out=out) as (runner, report):
        results, steps = {}, []
        raw = runner.folder / "service-profile.txt" if profile else None
        for path in chosen:
            step, results[path] = measure_latency(runner, path, rate, seconds, raw)
            steps.append(step)
        st, lt = (
            step_table(f"Steps at {rate:g} calls/s (observer connected)", steps),
            latency_table(f"Latencies at {rate:g} calls/s, Asterisk event timestamps", results),
        )
        tables = [st, lt] + (profile_tables(raw) if raw and raw.exists() else [])
        for t in tables:
            t.show()
        report.add("latency", {"rate": rate, "steps": steps, "ms": results}, "\n".join(t.markdown() for t in tables))


@app.command()
def soak(
    rate: float = typer.Option(..., help="Calls/s: half the sustained rate of a `run`."),
    minutes: float = typer.Option(30.0, help="How long (bounded: SIPp places rate x minutes x 60 calls)."),
    db: str = DB,
    hold: float = HOLD,
    ring: float = RING,
    max_invite_ms: float = MAX_INVITE,
    out: Path = OUT,
) -> None:
    """Our service at a steady rate for a long while: memory every ~10 s, then look for leaked channels and bridges."""
    with session(db=db, hold_s=hold, ring_s=ring, max_invite_ms=max_invite_ms, out=out) as (runner, report):
        _soak(runner, report, rate, minutes)


def _soak(runner, report, rate: float, minutes: float) -> None:
    say(f"[bold]soak at {rate:g} calls/s for {minutes:g} min[/]")
    result = run_soak(runner, rate, minutes)
    step = result.step
    assert step is not None  # run_soak always runs its step
    rss = [kb for _, kb in result.rss_kb]
    table = Table2(f"Soak: {rate:g} calls/s for {minutes:g} min", ["measure", "value"])
    table.add(
        "calls placed / failed / reached agency",
        f"{step.placed} / {step.sipp_failed} / {step.reached}",
    )
    table.add(
        "cases completed as pressed",
        f"{step.cases.completed}/{step.placed}" if step.cases else "-",
    )
    table.add("INVITE->200 p50 / p99 ms", f"{fmt(step.p(50))} / {fmt(step.p(99))}")
    table.add(
        "service RSS before / end / max MiB",
        " / ".join(
            fmt(v / 1024 if v else None, 1)
            for v in (result.rss_before_kb, result.rss_after_kb, max(rss) if rss else None)
        ),
    )
    table.add(
        "RSS first sample / last sample MiB", " / ".join(fmt(v / 1024, 1) for v in (rss[:1] or [0]) + (rss[-1:] or [0]))
    )
    table.add(
        "left after: channels / bridges / ARI channels / service calls",
        f"{result.channels_after} / {len(result.bridges_after)} / {len(result.ari_channels_after)} / {result.service_calls_after}",
    )
    table.add(
        "verdict",
        "pass" if step.passed and not result.leaks else "FAIL: " + "; ".join(step.problems + result.leaks),
    )
    table.show()
    report.add("soak", result, table.markdown())


@app.command()
def pcap(
    path: Path = typer.Argument(..., help="Where to write the capture."),
    digits: str = typer.Option("912", help="Keys to press."),
    first: float = typer.Option(1.0, help="Seconds before the first key."),
    gap: float = typer.Option(0.8, help="Seconds between keys."),
) -> None:
    """Write a capture of RFC 4733 key presses (one timestamp per key) for SIPp's play_pcap_audio."""
    write_pcap(path, digit_packets(digits, first_at=first, gap=gap))
    say(f"{path}: {len(digits)} keys")


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.startswith("SIAGA_"):
        raise typer.BadParameter(f"{text!r}: expected SIAGA_<GROUP>__<KEY>=<value>", param_hint="--setting")
    return name, value
