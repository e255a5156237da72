// The chaos run's accounting: which accepted messages each client should have, what it got,
// and how each fault fared. Pure functions over what the run recorded.

/**
 * Whether a client had a connection (past `welcome`) at the end of the run: then it has
 * everything sent to it, live or through the replay of its last reconnection.
 */
export function liveAtEnd(client) {
  return client.opens.length > 0 && client.closes.length < client.opens.length;
}

/** Why an accepted message did not reach its client, or "delivered". */
export function outcome(message, client, faults, runEnd) {
  if (client.received.has(message.id)) return "delivered";
  if (!liveAtEnd(client)) return "client not live at the end";
  // A gap told after the message was sent: the client was told it may have missed it.
  if (client.gaps.some((t) => t >= message.postStart && t <= runEnd)) return "missed, told by history_gap";
  return faults.some((f) => lostWithTheAof(message, f)) ? "not in the AOF" : "lost";
}

/**
 * How long before its death a killed Redis may have acknowledged a write the AOF does not
 * hold, under appendfsync everysec. Redis writes its AOF buffer to the file before it sends
 * the replies (and a SIGKILL of the process keeps what was written: the page cache survives),
 * except that while a background fsync is still running it postpones the write, for at most
 * 2 s, then forces it; one more second for the everysec tick and a starved machine's lag.
 */
export const AOF_LOSS_BOUND_MS = 3000;

/**
 * Whether a Redis kill lost the message: Redis reserved its id before it died (the id's time,
 * `reservedAt`, at Redis's clock, which is this machine's), no longer than AOF_LOSS_BOUND_MS
 * before, and the AOF it left (what its successor loaded) holds no trace of it, neither its job
 * nor its history entry. Measured, not assumed: `fault.deadAt` is when the process was known
 * dead, and `fault.aofHas` reads that AOF. A message the AOF holds and no client received is lost.
 */
export function lostWithTheAof(message, fault) {
  if (fault.kind !== "redis-kill" || fault.aofHas === undefined) return false;
  const t = message.reservedAt;
  return t <= fault.deadAt && t >= fault.deadAt - AOF_LOSS_BOUND_MS && !fault.aofHas(message.id);
}

/** One row per phase: steady state, then each fault until the next (gaps measured while the producer ran). */
export function phases(messages, clients, faults, runEnd, producedUntil) {
  const bounds = [{ name: "steady", at: 0 }, ...faults.map((f) => ({ name: f.name, at: f.at }))];
  const deliveries = clients.flatMap((c) => [...c.firstReceipt.values()]).sort((a, b) => a - b);
  return bounds.map((b, i) => {
    const end = bounds[i + 1]?.at ?? runEnd;
    const inPhase = messages.filter((m) => m.postStart >= b.at && m.postStart < end);
    const row = {
      phase: b.name,
      sent: inPhase.length,
      accepted: 0,
      delivered: 0,
      notLive: 0,
      gapTold: 0,
      notInAof: 0,
      lost: 0,
      duplicates: 0,
    };
    for (const m of inPhase) {
      if (m.status !== 202) continue;
      row.accepted++;
      const client = clients[m.client];
      const o = outcome(m, client, faults, runEnd);
      if (o === "delivered") row.delivered++;
      else if (o === "client not live at the end") row.notLive++;
      else if (o === "missed, told by history_gap") row.gapTold++;
      else if (o === "not in the AOF") row.notInAof++;
      else row.lost++;
      row.duplicates += Math.max(0, (client.received.get(m.id) ?? 0) - 1);
    }
    row.maxGapMs = maxGap(deliveries, b.at, Math.min(end, producedUntil));
    row.recoveryMs = i === 0 ? 0 : recovery(inPhase, clients, b.at);
    return row;
  });
}

/** Longest time without any delivery to any client within [from, to). */
function maxGap(sortedTimes, from, to) {
  let last = from;
  let gap = 0;
  for (const t of sortedTimes) {
    if (t < from) continue;
    if (t >= to) break;
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

/** From the fault to the first delivery of a message sent after it (-1: none arrived). */
function recovery(inPhase, clients, faultAt) {
  let first = Number.POSITIVE_INFINITY;
  for (const m of inPhase) {
    if (m.status !== 202) continue;
    const t = clients[m.client].firstReceipt.get(m.id);
    if (t !== undefined) first = Math.min(first, t);
  }
  return Number.isFinite(first) ? first - faultAt : -1;
}

export function table(rows) {
  const head =
    "| phase | sent | accepted (202) | delivered | client not live at the end | missed, told by history_gap | not in the AOF (Redis killed) | lost | duplicates | max delivery gap | recovery |";
  const line = "|---|---|---|---|---|---|---|---|---|---|---|";
  const body = rows.map(
    (r) =>
      `| ${r.phase} | ${r.sent} | ${r.accepted} | ${r.delivered} | ${r.notLive} | ${r.gapTold} | ${r.notInAof} | ${r.lost} | ${r.duplicates} | ${(r.maxGapMs / 1000).toFixed(1)} s | ${r.recoveryMs < 0 ? "none" : `${(r.recoveryMs / 1000).toFixed(1)} s`} |`,
  );
  return [head, line, ...body].join("\n");
}
