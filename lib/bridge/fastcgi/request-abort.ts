// Whether a request was aborted (FCGI_ABORT_REQUEST, or the web server's connection went
// away) and who to tell. An AbortController per request cost ~4% of the bridge's CPU under
// load (EventTarget set-up, addEventListener/removeEventListener on every request) although
// almost no request is ever aborted; this keeps a plain listener list and makes the standard
// AbortSignal only for code that asks for one.
export type AbortListener = (reason: unknown) => void;

export class RequestAbort {
  #aborted = false;
  #reason: unknown = undefined;
  #listeners: AbortListener[] | null = null;
  #controller: AbortController | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** A standard AbortSignal that follows this abort: made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Calls `listener` once, on abort; never if the request ends first (call off()). */
  on(listener: AbortListener): void {
    (this.#listeners ??= []).push(listener);
  }

  off(listener: AbortListener): void {
    const listeners = this.#listeners;
    if (listeners === null) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }

  /** Aborts once; later calls do nothing. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners !== null) for (const listener of listeners) listener(reason);
    this.#controller?.abort(reason);
  }
}
