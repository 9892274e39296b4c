/**
 * The process's perl helper: one small child per process (per request scope in the
 * hook server) for the system calls node has no API for and would otherwise fork a
 * tool for: flock(2) on descriptors and paths (flock.ts, the locks), mknodat(2) for
 * FIFOs (fifo-process-io.ts), pidfd_getfd(2) to take a descriptor over.
 *
 * Locks: the lock files the process registered before its first lock (the OCI hook:
 * docs/performance.md). Node cannot call flock(2), and a flock(1) child per lock costs a fork of the
 * whole node process plus an exec (~5–8 ms each, three or four per hook). Here
 * the lock files are opened by this process first and handed to one perl
 * process at its start (as its fds 3, 4, …); perl then calls flock(2) on those
 * descriptors when asked over a pipe, a round trip of well under a millisecond.
 * The locks are taken on this process's own open file descriptions, exactly
 * as with flock(1): they belong to our descriptor (a plugin given a copy holds
 * the lock too), and they are released by an unlock request or when every
 * copy is closed, so a crash never leaves a stale lock: perl exits as soon as
 * its stdin (our end of the pipe) closes, which kill -9 of this process does.
 *
 * A lock that is not free at once is waited for in a forked copy of the perl
 * process (it shares the descriptor), so that one waiting lock does not hold
 * up the others; that copy answers and exits once the lock is ours, as
 * flock(1) did. perl-base is part of every Debian system; without perl (or if
 * the helper dies) the caller falls back to flock(1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { TsnerdError } from '../../domain/errors.ts';

/**
 * Requests: `<id> <s|x|c> <fd>` (shared, exclusive, close its copy) one per line, and
 * `<id> <S|X> p<n> <path>`: open the path itself (a file or a directory, read-only) as
 * handle `p<n>` and lock it, shared or exclusive (`c p<n>` closes it, dropping the lock);
 * `<id> F <mode> <path>` makes a FIFO (mknodat(2) through perl's syscall, its number the
 * script's second argument: POSIX::mkfifo would load a module of ~8 ms);
 * `<id> g a<n> <fd>`: take a copy of the parent's descriptor `fd` (the same open file
 * description: pidfd_getfd(2), Linux 5.6) as handle `a<n>`, then locked and closed as a
 * descriptor given at start is (`s a<n>`, `c a<n>`);
 * answers: `<id> ok` or `<id> err <reason>`. flock constants are Linux's
 * (LOCK_SH 1, LOCK_EX 2, LOCK_NB 4; EWOULDBLOCK 11), so are the syscall numbers
 * (pidfd_open 434, pidfd_getfd 438: the same on every architecture); no module is
 * loaded, so perl starts in ~2 ms.
 */
const SCRIPT = `
$| = 1; $SIG{CHLD} = 'IGNORE'; my %h; my $pidfd;
while (my $l = <STDIN>) {
  chomp $l;
  my ($id, $op, $fd, $path) = split ' ', $l, 4;
  if ($op eq 'F') { print syscall($ARGV[1], -100, $path, 0010000 | oct($fd), 0) == 0 ? "$id ok\\n" : "$id err $!\\n"; next }
  if ($op eq 'g') {
    $pidfd = syscall(434, getppid(), 0) unless defined $pidfd;
    my $n = $pidfd < 0 ? -1 : syscall(438, $pidfd, $path + 0, 0);
    my $o;
    if ($n < 0 || !open($o, '<&=', $n)) { print "$id err $!\\n"; next }
    $h{$fd} = $o; print "$id ok\\n"; next;
  }
  if ($op eq 'S' || $op eq 'X') {
    my $o;
    unless (open($o, '<', $path)) { print "$id err $!\\n"; next }
    $h{$fd} = $o; $op = lc $op;
  }
  my $h = $h{$fd};
  unless ($h) { unless (open($h, '<&=', $fd)) { print "$id err $!\\n"; next } $h{$fd} = $h }
  if ($op eq 'c') { close $h; delete $h{$fd}; print "$id ok\\n"; next }
  my $m = $op eq 's' ? 1 : 2;
  if (flock($h, $m | 4)) { print "$id ok\\n"; next }
  if ($! + 0 != 11) { print "$id err $!\\n"; next }
  my $pid = fork();
  if (!defined $pid) { print "$id err $!\\n"; next }
  next if $pid;
  # The waiting copy keeps only this descriptor: the others' locks must not outlive their release by close.
  for my $k (keys %h) { close $h{$k} unless $k eq $fd }
  for my $n (3 .. 2 + $ARGV[0]) {
    next if $n eq $fd || $h{$n};
    if (open(my $x, '<&=', $n)) { close $x }
  }
  print flock($h, $m) ? "$id ok\\n" : "$id err $!\\n";
  exit 0;
}
`;

/** mknodat(2)'s number where Linux has one table for all (x86_64 has its own); elsewhere no FIFOs through the helper. */
const MKNODAT: Partial<Record<string, number>> = { x64: 259, arm64: 33, riscv64: 33, loong64: 33 };

/** The helper could not serve the request (no perl, or it died): the caller takes the lock (or makes the FIFO) another way. */
export class PerlHelperUnavailable extends Error {}

export class PerlHelper {
  private readonly fds: readonly number[];
  private child: ChildProcess | undefined;
  private dead = false;
  private nextId = 1;
  private nextHandle = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private buffered = '';
  /** Descriptors taken over after the start (adopt): this process's fd → the helper's handle, and the take-over's answer. */
  private readonly adopted = new Map<number, { handle: string; done: Promise<void> }>();
  /** Set once a take-over failed (no pidfd_getfd: an older kernel, or not allowed): the caller stops adopting. */
  adoptFailed = false;

  /** `fds`: open descriptors of this process; they become the helper's fds 3, 4, … */
  constructor(fds: readonly number[]) {
    this.fds = fds;
  }

  get usable(): boolean {
    return !this.dead;
  }

  /** Takes the lock on `fd` (one of the constructor's, or adopted), waiting for it as flock(2) does. */
  async lock(fd: number, shared: boolean): Promise<void> {
    const adopted = this.adopted.get(fd);
    const locking = this.request(shared ? 's' : 'x', fd);
    if (!adopted) return locking;
    // Sent right behind the take-over, which the helper answers first: no round trip waits for the other.
    const [took, locked] = await Promise.allSettled([adopted.done, locking]);
    if (took.status === 'rejected') {
      throw new PerlHelperUnavailable(`the lock helper could not take over the descriptor: ${(took.reason as Error).message}`);
    }
    if (locked.status === 'rejected') throw locked.reason;
  }

  /**
   * Gives the running helper a copy of `fd`, an open descriptor of this process (the same open
   * file description, so a lock taken through the copy is this descriptor's lock, as for the
   * constructor's): a helper started before the descriptor existed serves it. lock and close
   * then take it as one of the constructor's. A failure shows in lock (PerlHelperUnavailable).
   */
  adopt(fd: number): void {
    const handle = `a${this.nextHandle++}`;
    const done = this.send(`g ${handle} ${fd}`);
    done.catch(() => (this.adoptFailed = true));
    this.adopted.set(fd, { handle, done });
  }

  /** Closes the helper's copy of `fd`: once ours is closed too, the lock is gone (unless a child holds a copy). */
  close(fd: number): Promise<void> {
    return this.request('c', fd);
  }

  /**
   * Locks `path` itself (a file or a directory, opened read-only by the helper): the lock is
   * the helper's, held until unlockPath(handle) or until this process exits (the helper
   * follows it). For locks no child of ours needs to hold; the handle to pass to unlockPath.
   */
  async lockPath(path: string, shared: boolean): Promise<string> {
    if (path.includes('\n')) throw new PerlHelperUnavailable('a path with a newline');
    const handle = `p${this.nextHandle++}`;
    await this.send(`${shared ? 'S' : 'X'} ${handle} ${path}`);
    return handle;
  }

  /**
   * Makes the FIFO `path` with the permission bits `mode` (umask applied, as mkfifo(3)
   * does). PerlHelperUnavailable where the helper cannot (then mkfifo(1) can).
   */
  mkfifo(path: string, mode: number): Promise<void> {
    if (path.includes('\n') || MKNODAT[process.arch] === undefined) return Promise.reject(new PerlHelperUnavailable('no mknodat'));
    return this.send(`F ${mode.toString(8)} ${path}`);
  }

  /** Drops the lock lockPath took (the helper closes its descriptor). */
  unlockPath(handle: string): Promise<void> {
    return this.send(`c ${handle}`);
  }

  private request(op: string, fd: number): Promise<void> {
    const adopted = this.adopted.get(fd);
    if (adopted) {
      // Forgotten at once: the fd number may be this process's again before the helper answers.
      if (op === 'c') this.adopted.delete(fd);
      return this.send(`${op} ${adopted.handle}`);
    }
    const index = this.fds.indexOf(fd);
    if (index < 0) return Promise.reject(new Error(`descriptor ${fd} was not given to the lock helper`));
    return this.send(`${op} ${index + 3}`);
  }

  private send(request: string): Promise<void> {
    const child = this.start();
    if (!child) return Promise.reject(new PerlHelperUnavailable('the lock helper is not running'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the event loop alive while an answer is due (the pipes are unref'd otherwise).
      if (this.pending.size === 1) refPipe(child, true);
      child.stdin!.write(`${id} ${request}\n`);
    });
  }

  /**
   * Ends the helper: it exits once its stdin closes, dropping the locks it holds (a forked
   * copy still waiting for a lock answers into a closed pipe and exits). For a scope that
   * ends while its process lives on (a request of the hook server).
   */
  stop(): void {
    this.fail(new PerlHelperUnavailable('the lock helper was stopped'));
    this.child?.stdin?.end();
    this.child = undefined;
  }

  /** Starts the helper (otherwise started by the first request); undefined when it cannot run. */
  start(): ChildProcess | undefined {
    if (this.dead) return undefined;
    if (this.child) return this.child;
    let child: ChildProcess;
    try {
      // stderr ignored: runc waits for the hook's stdout and stderr to close, so no child may keep them.
      child = spawn('perl', ['-e', SCRIPT, String(this.fds.length), String(MKNODAT[process.arch] ?? 0)], {
        stdio: ['pipe', 'pipe', 'ignore', ...this.fds],
      });
    } catch {
      this.dead = true;
      return undefined;
    }
    this.child = child;
    child.on('error', (err) => this.fail(new PerlHelperUnavailable(`lock helper: ${err.message}`)));
    child.on('exit', () => this.fail(new PerlHelperUnavailable('the lock helper exited')));
    child.stdin!.on('error', () => undefined); // reported through 'exit'
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => this.answer(text));
    child.unref();
    refPipe(child, false);
    return child;
  }

  private answer(text: string): void {
    this.buffered += text;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const [id, status, ...reason] = line.split(' ');
      const waiter = this.pending.get(Number(id));
      if (!waiter) continue;
      this.pending.delete(Number(id));
      if (status === 'ok') waiter.resolve();
      else waiter.reject(new TsnerdError('internal', reason.join(' ') || line));
    }
    if (this.pending.size === 0 && this.child) refPipe(this.child, false);
  }

  private fail(err: Error): void {
    this.dead = true;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

/** The helper never keeps this process alive by itself: only while an answer is awaited. */
function refPipe(child: ChildProcess, ref: boolean): void {
  for (const s of [child.stdin, child.stdout] as ({ ref?: () => void; unref?: () => void } | null)[]) {
    if (ref) s?.ref?.();
    else s?.unref?.();
  }
}
