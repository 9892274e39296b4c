/** A file-system errno code in words, for messages that must not show Node's raw `ENOENT: …, open '…'` text. */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a path component is not a directory',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  EINVAL: 'invalid argument',
};

export function describeErrno(code: string | undefined): string {
  return (code && ERRNO_TEXT[code]) ?? code ?? 'unknown error';
}
