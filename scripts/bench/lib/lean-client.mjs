// A lean WebSocket client for load generation: it upgrades, reads frames, answers pings,
// and for each text frame calls onText(buffer, start, end) without decoding it.
// The `ws` package tops out near 0.8M frames/s as a client; this one only counts and
// reads timestamps, so the load generator is not what is measured.
import { connect } from "node:net";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

export function openSocket({ host = "127.0.0.1", port, path, headers = {}, onText, onClose }) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, noDelay: true });
    let upgraded = false;
    let buf = Buffer.alloc(0);
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    sock.on("connect", () => {
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    const client = {
      sock,
      sendText(text) {
        const payload = Buffer.from(text);
        sock.write(Buffer.concat([frameHeader(1, payload.length), payload])); // zero mask key: payload unchanged
      },
      close() {
        sock.destroy();
      },
    };
    sock.on("data", (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = buf.toString("latin1", 0, 12);
        if (!status.startsWith("HTTP/1.1 101")) {
          sock.destroy();
          reject(new Error(`upgrade refused: ${buf.toString("latin1", 0, end).split("\r\n")[0]}`));
          return;
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve(client);
      }
      let at = 0;
      while (buf.length - at >= 2) {
        const b0 = buf[at];
        let len = buf[at + 1] & 0x7f;
        let head = 2;
        if (len === 126) {
          if (buf.length - at < 4) break;
          len = buf.readUInt16BE(at + 2);
          head = 4;
        } else if (len === 127) {
          if (buf.length - at < 10) break;
          len = Number(buf.readBigUInt64BE(at + 2));
          head = 10;
        }
        if (buf.length - at < head + len) break;
        const opcode = b0 & 0x0f;
        const start = at + head;
        // `client` goes along: frames in the same chunk as the 101 arrive before openSocket resolves.
        if (opcode === 1 || opcode === 2 || opcode === 0) onText?.(buf, start, start + len, client);
        else if (opcode === 9) sock.write(Buffer.concat([frameHeader(10, len), buf.subarray(start, start + len)]));
        else if (opcode === 8) sock.end();
        at = start + len;
      }
      buf = at === buf.length ? Buffer.alloc(0) : buf.subarray(at);
    });
    sock.on("error", (err) => (upgraded ? undefined : reject(err)));
    sock.on("close", () => onClose?.());
  });
}

function frameHeader(opcode, len) {
  if (len < 126) return Buffer.from([0x80 | opcode, 0x80 | len, 0, 0, 0, 0]);
  if (len < 65536) {
    const h = Buffer.from([0x80 | opcode, 0x80 | 126, 0, 0, 0, 0, 0, 0]);
    h.writeUInt16BE(len, 2);
    return h;
  }
  const h = Buffer.alloc(14);
  h[0] = 0x80 | opcode;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

const TS = Buffer.from('"ts":');
const TS_ESCAPED = Buffer.from('ts\\":'); // inside a JSON string (Pusher's data field)
/** Reads the number after the last `"ts":` (or `ts\":`) in buf[start, end), or -1. */
export function readTs(buf, start, end) {
  let at = buf.lastIndexOf(TS, end - 1);
  let skip = TS.length;
  if (at < start) {
    at = buf.lastIndexOf(TS_ESCAPED, end - 1);
    skip = TS_ESCAPED.length;
  }
  if (at < start) return -1;
  let n = 0;
  for (let i = at + skip; i < end; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}
