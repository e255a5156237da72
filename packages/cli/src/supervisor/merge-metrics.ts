interface Family {
  head: string[];
  samples: string[];
}

/**
 * Merges the Prometheus text of several processes into one exposition: each metric family's
 * `# HELP` and `# TYPE` once, then every process's samples of it. The processes' samples
 * differ by their `node` label (every Herald process sets it), so none collide.
 */
export function mergeMetrics(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  for (const text of texts) addText(families, text);
  const out: string[] = [];
  for (const { head, samples } of families.values()) out.push(...head, ...samples);
  return `${out.join("\n")}\n`;
}

/** Adds one exposition's lines: a sample belongs to the family whose HELP or TYPE came last. */
function addText(families: Map<string, Family>, text: string): void {
  let current: Family | undefined;
  for (const line of text.split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (meta) {
      const name = meta[2] as string;
      current = families.get(name) ?? { head: [], samples: [] };
      families.set(name, current);
      if (!current.head.some((h) => h.startsWith(`# ${meta[1]} `))) current.head.push(line);
    } else if (line !== "" && !line.startsWith("#")) {
      current?.samples.push(line);
    }
  }
}
