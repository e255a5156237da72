// Sends `rate` items per second for `seconds` (rate 0: as fast as the event loop allows),
// in 1 ms slices so the offered load is smooth. Resolves with how many were sent.
export function pace(rate, seconds, send) {
  return new Promise((resolve) => {
    const started = performance.now();
    const end = started + seconds * 1000;
    let sent = 0;
    const tick = () => {
      const now = performance.now();
      if (now >= end) return resolve(sent);
      const due = rate === 0 ? sent + 200 : Math.floor(((now - started) / 1000) * rate);
      const batch = Math.min(due - sent, rate === 0 ? 200 : 5000);
      if (batch > 0) {
        if (send(batch, sent) === false) return resolve(sent); // the sender is done
        sent += batch;
      }
      if (rate === 0) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/** A payload of about `size` bytes carrying the send time, as the peers' messages do. */
export function payload(size, n) {
  const base = `{"n":${n},"pad":"","ts":${Date.now()}}`;
  const pad = "x".repeat(Math.max(0, size - base.length));
  return `{"n":${n},"pad":"${pad}","ts":${Date.now()}}`;
}

/** Targeted sends for an in-process server: `rate` messages/s, each to a random user's socket. */
export function paceTargeted(m, sockets) {
  const ids = [...sockets.keys()];
  return pace(m.rate, m.seconds, (n, at) => {
    for (let i = 0; i < n; i++) sockets.get(ids[(Math.random() * ids.length) | 0])?.send(payload(m.size, at + i));
  });
}
