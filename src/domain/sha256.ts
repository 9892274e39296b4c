/**
 * SHA-256 of a short UTF-8 string, as lowercase hex: the data store's address
 * hash, network IDs and endpoint IDs. The OCI hook computes the address hash on
 * every run, and loading node:crypto for it cost ~3 ms of each hook's start-up
 * (docs/performance.md), so it comes from @noble/hashes (audited, pure JS, no
 * dependencies; bundled into the hook, only its SHA-2 code). Its digests are
 * node:crypto's exactly (test/unit/sha256.test.ts compares them on many inputs).
 */
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** SHA-512, likewise: the masquerade chain's name, computed by every postStop (no node:crypto there either). */
export function sha512Hex(text: string): string {
  return bytesToHex(sha512(utf8ToBytes(text)));
}
