// Priority under flood: a backlog of low messages being drained while critical messages
// arrive at 100/s; the critical messages' latency, and how long the backlog took.
import { fork } from "node:child_process";
import { Fleet, once, percentiles } from "../lib/fleet.mjs";
import { SYSTEMS } from "../lib/systems.mjs";

const producerFile = new URL("../servers/herald-producer.mjs", import.meta.url).pathname;

/** The lines of a node's /metrics that match `re`. */
async function scrape(port, re) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => re.test(l))
    .join("\n");
}

export default async function priority({ full, log }) {
  const backlog = Number(process.env.BENCH_BACKLOG ?? (full ? 100_000 : 30_000));
  // 100/s: a steady urgent flow. Below 1/s every critical message comes after a quiet second,
  // as lone alerts do, and meets the bulk path as it runs with no urgent traffic.
  const criticalPerSecond = Number(process.env.BENCH_CRITICAL_RATE ?? 100);
  // The worker's bulk share while urgent jobs flow: its default unless given, to compare settings.
  const share = process.env.HERALD_WORKER_BULK_SHARE;
  const sys = await SYSTEMS.herald({ via: "sdk", workers: 0, env: share ? { HERALD_WORKER_BULK_SHARE: share } : {} });
  const fleet = await Fleet.start(2);
  const critical = fork(producerFile, [], {
    env: { ...process.env, ...sys.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    await once(critical, "started");
    const users = Array.from({ length: 1000 }, (_, i) => `p${i}`);
    await fleet.open({ protocol: "herald", ports: sys.ports, secret: sys.secret, trackCritical: true }, users);
    // The backlog: enqueued while no worker runs.
    const low = await sys.raw({
      target: "user",
      users,
      rate: 0,
      seconds: 1e6,
      limit: backlog,
      size: 200,
      priority: "low",
      maxInflight: 1e9,
    });
    await fleet.reset();
    // Scraping resets prom-client's event-loop lag statistics: the next scrape covers the drain alone.
    if (process.env.BENCH_DIAG) await scrape(sys.ports[0], /^$/);
    const started = performance.now();
    await sys.startWorker();
    // Critical messages at 100/s while the worker drains the backlog.
    critical.send({
      cmd: "run",
      via: "sdk",
      target: "user",
      users,
      rate: criticalPerSecond,
      seconds: 1e6,
      size: 200,
      priority: "critical",
    });
    let frames = 0;
    const deadline = performance.now() + 300_000;
    while (frames < low.accepted && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      frames = await fleet.count();
    }
    const drainSeconds = (performance.now() - started) / 1000;
    critical.send({ cmd: "stop" });
    const crit = await once(critical, "done", 60_000);
    await new Promise((r) => setTimeout(r, 500)); // the last critical messages in flight
    const report = await fleet.report();
    if (process.env.BENCH_DIAG) {
      const lag = /^nodejs_(eventloop_lag_(max|p99)_seconds|gc_duration_seconds_(sum|count)\{.*kind="major")/;
      log(`edge:\n${await scrape(sys.ports[0], lag)}\nworker:\n${await scrape(sys.workerPorts[0] ?? 0, lag)}`);
      log(
        await scrape(
          sys.ports[0],
          /^herald_delivery_latency_seconds_(bucket\{le="(0.01|0.025|0.05|0.1|0.25)".*|count.*)critical/,
        ),
      );
      log(
        await scrape(
          sys.workerPorts[0] ?? 0,
          /^herald_worker_(job_duration|queue_wait)_seconds_(bucket\{le="(0.01|0.05|0.1|0.25|1)"|count).*critical/,
        ),
      );
    }
    const row = {
      scenario: "priority",
      system: sys.name,
      key: "herald",
      backlog: low.accepted,
      criticalPerSecond,
      criticalSent: crit.accepted,
      drainSeconds,
      delivered: report.frames,
      critical: percentiles(report.critical),
      all: percentiles(report.hist),
    };
    log(
      `priority: ${row.backlog} low drained in ${drainSeconds.toFixed(1)} s while ${row.criticalSent} critical arrived (${criticalPerSecond}/s): p50 ${row.critical.p50} p99 ${row.critical.p99} p99.9 ${row.critical.p999} max ${row.critical.max} ms`,
    );
    return [row];
  } finally {
    critical.kill("SIGKILL");
    await fleet.stop();
    await sys.stop();
  }
}
