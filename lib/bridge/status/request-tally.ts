// The bridge's own request counts for the status page: requests in flight and responses by
// status code (since the bridge started). The access log middleware, which already sees
// every request start and end exactly once, keeps it.
export class RequestTally {
  #inFlight = 0;
  readonly #byStatus = new Map<number, number>();

  started(): void {
    this.#inFlight += 1;
  }

  finished(status: number): void {
    this.#inFlight -= 1;
    this.#byStatus.set(status, (this.#byStatus.get(status) ?? 0) + 1);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** [status, count], ascending by status. */
  byStatus(): Array<[status: number, count: number]> {
    return [...this.#byStatus].sort(([a], [b]) => a - b);
  }
}
