// Installs the peers (Socket.IO + redis adapter, Soketi, ws) into .bench-peers/, a
// git-ignored folder with its own package.json, so they never enter Herald's lockfile.
// Soketi's own uWebSockets.js (a git dependency the registry cannot serve) is replaced,
// through npm `overrides`, by the same republished build Herald uses.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";

const here = new URL("./", import.meta.url);
const target = new URL("../../../.bench-peers/", import.meta.url);

export async function installPeers(log = console.log) {
  mkdirSync(target, { recursive: true });
  const wanted = readFileSync(new URL("package.json", here), "utf8");
  const have = existsSync(new URL("package.json", target)) ? readFileSync(new URL("package.json", target), "utf8") : "";
  if (have === wanted && existsSync(new URL("node_modules/@soketi/soketi", target))) return;
  log("installing benchmark peers into .bench-peers/ (once; about a minute)…");
  copyFileSync(new URL("package.json", here), new URL("package.json", target));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: target, stdio: "inherit" });
}

if (import.meta.url === `file://${process.argv[1]}`) await installPeers();
