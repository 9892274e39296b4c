/** An image archive (tar) as a stream of entries, read once from start to end. */
export interface ArchiveEntry {
  /** Path inside the archive, without a leading "./". */
  name: string;
  size: number;
  /** Regular file contents; left unread, it is skipped when the next entry is asked for. */
  body: AsyncIterable<Uint8Array>;
  /** For a symbolic link, its target resolved against the link's folder. */
  linkTo?: string;
}
