// The memory of large response-body chunks, lent to a chunk and given back once the web
// server's socket has written it.
//
// Why: every read from Kallithea is copied out of the shared read buffer into a chunk of
// its own (connection.ts). A new 64 KiB buffer per read is freed only when a garbage
// collection finds it unreachable, and V8 runs those late for memory it does not see
// (ArrayBuffer backing stores): a 1 GiB download through the bridge held ~30 MiB of written,
// unreachable chunks at a time. Reusing the memory of written chunks keeps a transfer to a
// few buffers per response in flight.
//
// Safe only when nothing else holds the chunk after the server wrote it: the server gives a
// chunk back only when the body it iterated is the forwarder's own, passed on unchanged by
// the pipeline (see passesChunksThrough); a middleware that wraps the body, and might keep
// its chunks, turns recycling off for that response. A chunk is taken back only as lent
// (whole, once): a slice or a second give is ignored.

/** The size of the memory behind every lent chunk: the upstream client's read buffer. */
export const CHUNK_MEMORY_BYTES = 64 * 1024;

/**
 * Chunks shorter than this come from Node's own small-buffer pool (Buffer.from), which is
 * cheaper than lending 64 KiB to a small response.
 */
const LEND_FROM_BYTES = Buffer.poolSize >>> 1;

export class BodyChunks {
  readonly #keep: number;
  /** Memory given back and not yet lent again, at most `keep` of them. */
  readonly #free: ArrayBuffer[] = [];
  /** Memory lent out, with the length of the chunk it was lent as. */
  readonly #lent = new WeakMap<ArrayBuffer, number>();
  #reused = 0;

  constructor(keep = 32) {
    this.#keep = keep;
  }

  /** A copy of `views` (`bytes` long, at most CHUNK_MEMORY_BYTES) as one chunk. */
  copy(views: readonly Buffer[], bytes: number): Buffer {
    if (bytes < LEND_FROM_BYTES || bytes > CHUNK_MEMORY_BYTES) {
      return views.length === 1 ? Buffer.from(views[0] as Buffer) : Buffer.concat(views, bytes);
    }
    let memory = this.#free.pop();
    if (memory === undefined) memory = Buffer.allocUnsafeSlow(CHUNK_MEMORY_BYTES).buffer;
    else this.#reused += 1;
    this.#lent.set(memory, bytes);
    const chunk = Buffer.from(memory, 0, bytes);
    let at = 0;
    for (const view of views) at += view.copy(chunk, at);
    return chunk;
  }

  /** The chunk was written: its memory may be lent again. Anything not lent as it is: ignored. */
  giveBack(chunk: Uint8Array): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (chunk.byteOffset !== 0 || this.#lent.get(memory) !== chunk.byteLength) return;
    this.#lent.delete(memory);
    if (this.#free.length < this.#keep) this.#free.push(memory);
  }

  /** How many chunks reused given-back memory (for tests and the bench). */
  get reused(): number {
    return this.#reused;
  }
}

/** The bridge's one pool: the upstream client lends from it, the FastCGI writer gives back. */
export const bodyChunks = new BodyChunks();

/**
 * A body whose chunks nobody keeps once they are yielded, so the server may give them back
 * after writing them: the forwarder's upstream exchange, and the pipeline's own wrappers
 * around it that pass the chunks on unchanged.
 */
export interface PassesChunksThrough {
  readonly passesChunksThrough: boolean;
}

export function passesChunksThrough(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as Partial<PassesChunksThrough>).passesChunksThrough === true
  );
}
