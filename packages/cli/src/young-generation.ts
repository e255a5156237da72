import { setFlagsFromString } from "node:v8";

/** Set by an operator who sized the young generation: then it is theirs to decide. */
const SIZED_BY_OPERATOR = /--(max|min)-semi-space-size|--semi-space-growth-factor/;

/**
 * Keeps V8's young generation at its initial size (1 MiB semi-spaces) in an edge process.
 *
 * Why: during a burst of connects most young objects survive (they are the connections), and
 * V8 answers by growing the young generation, memory it keeps while the node idles with its
 * connections (docs/decisions/young-generation.md). `--max-semi-space-size` is read only at
 * start-up, but the growth factor is read at each growth, so setting it to 1 here holds the
 * young generation where it is.
 *
 * Returns false, changing nothing, when the operator set a semi-space flag (in `nodeOptions`,
 * the NODE_OPTIONS variable, or on the node command line).
 */
export function pinYoungGeneration(nodeOptions: string | undefined): boolean {
  const flags = `${nodeOptions ?? ""} ${process.execArgv.join(" ")}`;
  if (SIZED_BY_OPERATOR.test(flags)) return false;
  setFlagsFromString("--semi-space-growth-factor=1");
  return true;
}
