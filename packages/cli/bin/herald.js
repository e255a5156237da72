#!/usr/bin/env node
// The compiled CLI; `npm ci` builds it (the root `prepare` script).
import { pinYoungGeneration } from "../dist/young-generation.js";

// Before anything else loads: loading the CLI's modules alone grows V8's young generation
// (docs/decisions/young-generation.md). The one read of the environment outside the config.
if (process.argv[2] === "edge") pinYoungGeneration(process.env.NODE_OPTIONS);
await import("../dist/main.js");
