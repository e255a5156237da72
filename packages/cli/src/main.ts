import { availableParallelism } from "node:os";
import { HeraldError } from "@herald/protocol";
import { loadConfig, tokenSecret } from "./config/load-config.js";
import type { Role } from "./config/variables.js";
import { signToken } from "./dev-mode.js";
import { dlqCommand } from "./dlq-command.js";
import { runRole } from "./run-role.js";
import { processPlan, supervised } from "./supervisor/plan.js";
import { supervise } from "./supervisor/supervisor.js";

const USAGE = `usage: herald <command>

  edge                 WebSocket + HTTP edge node
  worker               message processor (BullMQ workers)
  all                  edge and worker processes for this machine (dev mode by default)
  dlq list [--limit N] list dead letters (JSON lines, oldest first)
  dlq retry <id…>|--all  re-drive dead letters into their queues
  token <user> [pattern…]  print a client token signed with HERALD_JWT_SECRET

Configuration comes from the environment; see the README.`;

type Env = Readonly<Record<string, string | undefined>>;

async function main(argv: string[], env: Env): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case "edge":
    case "worker":
    case "all": {
      const config = loadConfig(command as Role, env);
      const plan = processPlan(config, availableParallelism());
      if (supervised(plan)) await supervise(config, env, plan);
      else await runRole({ ...config, role: command as "edge" | "worker" });
      return -1; // keeps running until a signal
    }
    case "dlq":
      return dlqCommand(loadConfig("worker", env), args);
    case "token": {
      const [user, ...channels] = args;
      if (!user) throw new Error("usage: HERALD_JWT_SECRET=… herald token <user> [channel-pattern…]");
      process.stdout.write(`${signToken(tokenSecret(env), user, channels)}\n`);
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`herald: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

// The process's environment is read here, once, and only through the config module.
main(process.argv.slice(2), process.env).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const config = err instanceof HeraldError && err.code === "invalid_config";
    process.stderr.write(`herald: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(config ? 2 : 1);
  },
);
