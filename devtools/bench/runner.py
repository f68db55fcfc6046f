"""The run: every phase in order on one stack, recording into :class:`Results`."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable

from devtools.bench import webhooks
from devtools.bench.api_load import ApiClient, ApiDriver
from devtools.bench.embedded import EmbeddedStack
from devtools.bench.floor import Floor
from devtools.bench.http import HttpClient
from devtools.bench.plan import Plan
from devtools.bench.procs import CpuMeter, peak_rss_mb
from devtools.bench.results import AB_BASELINE, AB_OURS, LoadStep, Results
from devtools.bench.session import machine_busy_seconds
from devtools.bench.stats import Samples, closed_loop, open_loop
from devtools.serving import free_port

CONCURRENCY = (1, 16, 64)
POLLERS = 50
POLL_INTERVAL = 0.25  # an eager client: four reads a second while it waits for its post
WAIT_MS = 5000
KNEE_WAIT_MS = 25_000  # the API's maximum: under overload a job may take long
RAMP_START = 2.0
RAMP_FACTOR = 1.5
RAMP_MAX = 400.0
AB_ROUNDS = 3  # the GET comparison with the baseline alternates this many times

Log = Callable[[str], None]


class Runner:
    def __init__(
        self,
        stack: EmbeddedStack,
        plan: Plan,
        log: Log,
        *,
        api: ApiClient | None = None,
        scaled_out: bool = False,
    ) -> None:
        assert stack.client is not None and stack.tenant is not None
        self.stack = stack
        self.plan = plan
        self.log = log
        self.floor = Floor(stack.client)
        self.api = ApiDriver(api or stack.api(), stack.tenant.project_id)
        self.results = Results(slow_llm_ms=stack.options.slow_llm_ms, scaled_out=scaled_out)

    def _pids(self) -> dict[str, int]:
        """Every child the stack runs now (the scaled-out run's second worker and API too)."""
        pids = {n: self.stack.processes.pid(n) for n in self.stack.processes.children}
        return {**pids, "bench": os.getpid()}

    def _total(self, concurrency: int) -> int:
        """Samples at a concurrency: enough for a p99, bounded so the run stays minutes."""
        return max(self.plan.serial, self.plan.per_client * concurrency)

    async def _measure(
        self, table: dict[str, Samples], name: str, op: Callable[[], Awaitable[None]], c: int
    ) -> None:
        meter, busy = CpuMeter(self._pids()), machine_busy_seconds()
        table[name] = await closed_loop(op, total=self._total(c), concurrency=c)
        self.results.cpu[name] = meter.read()
        self.results.machine_cpu_seconds[name] = machine_busy_seconds() - busy
        s = table[name]
        self.log(f"  {name:34s} p50 {s.p50:7.1f} ms  p99 {s.p99:7.1f} ms  {s.rate:6.1f}/s")

    async def run(self) -> Results:
        await self.floor_phase()
        await self.api_phase()
        await self.baseline_phase()
        if not self.results.scaled_out:  # use_llm restarts only the first worker
            await self.slow_llm_phase()
        # Peaks before the overload steps, where hundreds of POSTs wait at once.
        names = [n for n in self.stack.processes.children if n.startswith(("api", "worker"))]
        for name in [*names, "temporal"]:
            if name not in self.results.peak_rss_mb:  # the worker's was taken by (c)
                self.results.peak_rss_mb[name] = peak_rss_mb(self.stack.processes.pid(name))
        await self.throughput_phase()
        for name in [*names, "temporal"]:
            pid = self.stack.processes.pid(name)
            self.results.peak_rss_mb[f"{name}, after 4× overload"] = peak_rss_mb(pid)
        await self.webhooks_phase()
        return self.results

    async def webhooks_phase(self) -> None:
        """(e) POST-to-DONE with two webhook endpoints next to without, and delivery lag."""
        jobs = max(10, self.plan.serial // 2)
        self.log(f"(e) webhooks: {jobs} jobs per series, alternated, 2 endpoints on a receiver")
        settings = self.stack.settings
        figures = await webhooks.measure(
            settings, self.api, settings.api_host, settings.api_port, jobs
        )
        self.results.webhooks = figures.series
        self.results.webhook_counts = {
            "jobs per series": figures.jobs_per_series,
            "deliveries received": figures.deliveries,
            "deliveries missing": figures.delivery_errors,
        }
        for name, s in figures.series.items():
            self.log(f"  {name:44s} p50 {s.p50:7.1f} ms  p99 {s.p99:7.1f} ms")
        await self.api.drained()

    async def floor_phase(self) -> None:
        self.log("(a) floor: raw temporalio on the same server")
        floor, table = self.floor, self.results.floor
        async with floor.worker():
            await closed_loop(floor.admitted_one_activity(), total=self.plan.warmup, concurrency=1)
            await self._measure(table, "start_workflow c=1", floor.start_workflow(), 1)
            for c in CONCURRENCY:
                await self._measure(table, f"update_with_start c={c}", floor.update_with_start(), c)
            for c in (1, 16):
                await self._measure(table, f"one activity e2e c={c}", floor.one_activity(), c)
                await self._measure(
                    table, f"uws + one activity e2e c={c}", floor.admitted_one_activity(), c
                )

    async def api_phase(self) -> None:
        self.log("(b) API: admission, POST-to-DONE, bounded waits, polling")
        api, table = self.api, self.results.api
        await closed_loop(api.admission(), total=self.plan.warmup, concurrency=1)
        await api.drained()
        for c in CONCURRENCY:
            await self._measure(table, f"admission c={c}", api.admission(), c)
            await api.drained()
        for c in (1, 16):
            total = self._total(c)
            meter, busy = CpuMeter(self._pids()), machine_busy_seconds()
            outcomes = await api.post_and_wait(total=total, concurrency=c, wait_ms=WAIT_MS)
            self.results.cpu[f"POST-to-DONE c={c}"] = meter.read()
            self.results.machine_cpu_seconds[f"POST-to-DONE c={c}"] = machine_busy_seconds() - busy
            table[f"POST-to-DONE c={c}"] = outcomes.done
            self.results.hit_rates[f"c={c}"] = outcomes.hit_rate
            s = outcomes.done
            self.log(
                f"  POST-to-DONE c={c:<22} p50 {s.p50:7.1f} ms  p99 {s.p99:7.1f} ms  "
                f"DONE {outcomes.hit_rate:.1%}"
                + (f" ({outcomes.refused} refused)" if outcomes.refused else "")
            )
            await api.drained()
        for name, interval in (("GET, back to back", 0.0), ("GET, paced", POLL_INTERVAL)):
            meter = CpuMeter(self._pids())
            table[name] = polled = await api.pollers(
                pollers=POLLERS, seconds=self.plan.poll_seconds, interval=interval
            )
            self.results.cpu[name] = meter.read()
            self.log(
                f"  {name:34s} p50 {polled.p50:7.1f} ms  p99 {polled.p99:7.1f} ms  "
                f"{polled.rate:6.0f}/s  API CPU {self.results.cpu[name]['api']:.0f}%"
            )

    async def baseline_phase(self) -> None:
        """(b') Back-to-back GETs against the minimal FastAPI app
        (``devtools.bench.baseline_api``, same database), started for this only, alternated
        with the same GETs against the API in ``AB_ROUNDS`` rounds so that both see the
        same machine; the target is taken from these rounds' totals."""
        self.log("(b') minimal FastAPI baseline: the same key check and job read, A/B")
        assert self.stack.tenant is not None
        port = free_port()
        command = [sys.executable, "-m", "devtools.bench.baseline_api", "--port", str(port)]
        env = self.stack._env()  # noqa: SLF001 - the children's environment, as is
        pid = self.stack.processes.start("baseline", command, env).pid
        http = HttpClient("127.0.0.1", port, headers=self.stack.tenant.headers("live"))
        try:
            await _until_healthy(http, self.stack.processes.check_alive)
            baseline = ApiDriver(http, self.stack.tenant.project_id)
            baseline.job_ids = self.api.job_ids
            sides = {AB_OURS: self.api, AB_BASELINE: baseline}
            totals = {name: Samples() for name in sides}
            cpu_seconds = {name: 0.0 for name in sides}
            seconds = self.plan.poll_seconds / AB_ROUNDS
            for _ in range(AB_ROUNDS):
                for name, driver in sides.items():
                    pids = {"baseline": pid} if driver is baseline else self._api_pids()
                    meter = CpuMeter(pids)
                    polled = await driver.pollers(pollers=POLLERS, seconds=seconds)
                    cpu_seconds[name] += sum(meter.read().values()) / 100 * polled.wall_seconds
                    total = totals[name]
                    total.latencies_ms += polled.latencies_ms
                    total.errors += polled.errors
                    total.wall_seconds += polled.wall_seconds
            for name, total in totals.items():
                self.results.api[name] = total
                self.results.cpu[name] = {"api": 100 * cpu_seconds[name] / total.wall_seconds}
                self.log(
                    f"  {name:34s} p50 {total.p50:7.1f} ms  p99 {total.p99:7.1f} ms  "
                    f"{total.rate:6.0f}/s"
                )
        finally:
            await http.close()
            self.stack.processes.retire("baseline")

    def _api_pids(self) -> dict[str, int]:
        return {n: p for n, p in self._pids().items() if n.startswith("api")}

    async def slow_llm_phase(self) -> None:
        """(c) The same path with a provider call that takes as long as a real one."""
        seconds = self.stack.options.slow_llm_ms / 1000
        self.log(f"(c) with a fake LLM that takes {seconds:g} s")
        self.results.peak_rss_mb["worker"] = peak_rss_mb(self.stack.processes.pid("worker"))
        await self.stack.use_llm("slow")
        jobs, c = self.plan.slow_jobs, min(8, self.plan.slow_jobs)
        async with self.floor.worker():
            self.results.floor["one slow activity e2e"] = await closed_loop(
                self.floor.one_activity(seconds), total=jobs, concurrency=c
            )
        # The worker was just restarted: one round of jobs first, so the sample is warm.
        await self.api.post_and_wait(total=c, concurrency=c, wait_ms=WAIT_MS)
        outcomes = await self.api.post_and_wait(total=jobs, concurrency=c, wait_ms=WAIT_MS)
        self.results.api["POST-to-DONE, slow LLM"] = outcomes.done
        self.results.hit_rates["slow LLM"] = outcomes.hit_rate
        self.log(
            f"  floor p50 {self.results.floor['one slow activity e2e'].p50:.0f} ms, "
            f"API p50 {outcomes.done.p50:.0f} ms"
        )
        await self.api.drained()
        self.results.peak_rss_mb["worker (slow LLM)"] = peak_rss_mb(
            self.stack.processes.pid("worker")
        )
        await self.stack.use_llm("fast")

    async def _load_step(self, rate: float, seconds: float) -> LoadStep:
        meter = CpuMeter(self._pids())
        samples = await open_loop(self.api.done_within(KNEE_WAIT_MS), rate=rate, seconds=seconds)
        step = LoadStep(offered=rate, samples=samples, cpu=meter.read())
        busiest = max(step.cpu, key=lambda n: step.cpu[n])
        self.log(
            f"  offered {rate:6.1f}/s  done {step.achieved:6.1f}/s  p50 {samples.p50:7.1f} ms  "
            f"p99 {samples.p99:7.1f} ms  errors {samples.errors}  busiest {busiest} "
            f"{step.cpu[busiest]:.0f}%"
        )
        await self.api.drained(timeout=300)
        return step

    async def throughput_phase(self) -> None:
        """(d) The highest rate the stack keeps up with, held, then doubled and quadrupled."""
        self.log("(d) throughput: looking for the knee")
        unloaded = self.results.api["POST-to-DONE c=1"].p50
        rate = RAMP_START
        kept_up: list[float] = []
        while rate <= RAMP_MAX:
            step = await self._load_step(rate, self.plan.ramp_seconds)
            self.results.ramp.append(step)
            if not step.keeps_up(unloaded):
                break
            kept_up.append(rate)
            rate = round(rate * RAMP_FACTOR, 1)
        # The knee is the highest rate that keeps up for the whole sustain period: a short
        # ramp step can pass at a rate the stack only holds until its queues fill.
        knee = RAMP_START
        for knee in reversed(kept_up or [RAMP_START]):
            self.log(f"  1× the knee ({knee:g}/s) for {self.plan.sustain_seconds:g} s")
            held = await self._load_step(knee, self.plan.sustain_seconds)
            if held.keeps_up(unloaded):
                self.results.knee = knee
                self.results.at_knee["1×"] = held
                break
            self.results.not_held.append(held)
        for factor in (2, 4):
            self.log(f"  {factor}× the knee for {self.plan.overload_seconds:g} s")
            self.results.at_knee[f"{factor}×"] = await self._load_step(
                knee * factor, self.plan.overload_seconds
            )


async def _until_healthy(http: HttpClient, check_alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        check_alive()
        try:
            if (await http.request("GET", "/health")).status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the baseline API did not start")
