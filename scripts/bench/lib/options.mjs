/** `--name value` from the command line, or `fallback` when it is not given. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** A numeric `--name value`, or `fallback`. */
export function numberOption(name, fallback) {
  return Number(option(name, fallback));
}
