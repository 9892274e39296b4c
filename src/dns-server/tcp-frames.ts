/**
 * DNS over TCP carries each message behind a 2-byte length (RFC 1035 4.2.2,
 * RFC 7766): what the resolver's TCP listener and its forwarder both read and
 * write.
 */

/** `msg` behind its length. */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

/** Collects a stream's chunks and hands out each whole message once its last byte came in. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** The messages `chunk` completes (none while a message is still partial). */
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    while (this.buffered.length >= 2) {
      const size = this.buffered.readUInt16BE(0);
      if (this.buffered.length < size + 2) break;
      out.push(this.buffered.subarray(2, size + 2));
      this.buffered = this.buffered.subarray(size + 2);
    }
    return out;
  }
}
