/**
 * The `error` listener of a connection (or a BullMQ Queue, which re-emits its connection's
 * errors) whose every failure also fails the command in flight, whose caller handles it
 * (503, a rejected send, a retried job). Without a listener Node would throw the event;
 * listening here only stops the same failure from being reported twice.
 */
export function reportedByCommands(_err: Error): void {
  // reported by the failed command's caller
}
