import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { HandlerRegistry, type HandlersModule } from "@herald/worker";

/** Builds the handler registry, letting the module at `path` (HERALD_HANDLERS) register its handlers. */
export async function loadHandlers(path: string | undefined): Promise<HandlerRegistry> {
  const registry = new HandlerRegistry();
  if (!path) return registry;
  const mod = (await import(pathToFileURL(resolve(path)).href)) as HandlersModule;
  const register = mod.register ?? mod.default;
  if (typeof register !== "function") {
    throw new Error(`HERALD_HANDLERS=${path}: the module must export register(registry) (named or default)`);
  }
  await register(registry);
  return registry;
}
