import { readFileSync } from "node:fs";

/** This release's version, from the CLI package (the version every package of a release shares). */
export const HERALD_VERSION: string = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
).version;
