/** Exact-length reads over a stream of chunks of any size. */
import { invalid } from '../../domain/errors.ts';

export class ByteReader {
  private readonly source: AsyncIterator<Uint8Array>;
  private buffered: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.source = source[Symbol.asyncIterator]();
  }

  private async fill(min: number): Promise<void> {
    while (this.buffered.length < min && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else this.buffered = Buffer.concat([this.buffered, next.value]);
    }
  }

  /** n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(out.length);
    return out;
  }

  /** Yields the next n bytes in pieces as they arrive; the stream ending first is a truncated archive. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered.length === 0) await this.fill(1);
      if (this.buffered.length === 0) throw invalid('archive is truncated');
      const piece = this.buffered.subarray(0, Math.min(left, this.buffered.length));
      this.buffered = this.buffered.subarray(piece.length);
      left -= piece.length;
      yield piece;
    }
  }
}
