import { type Logger, pino } from "pino";

export type { Logger };

/** The one root logger of a process: JSON lines on stdout. Modules take `child({component})`. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
