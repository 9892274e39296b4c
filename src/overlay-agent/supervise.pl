# tsnerd's overlay agent supervisor (docs/overlay.md, "Supervision"). The agent's starter
# (src/adapters/overlay/agent-process.ts: network create, the OCI hook, network gc) runs
#   perl supervise.pl <state dir> <agent argv: node [flags] .../overlay-agent/main.js <state dir> [<dns dir>]>
# detached, in a session of its own, stdout and stderr appended to the agent's log, fd 3 the
# starter's readiness pipe. It runs the agent as its child and starts it again when it dies
# (kill -9, the OOM killer, a crash), so the host's names in etcd (a 10 s lease), its paths to
# new hosts and its rules do not wait for the next container or `network gc`; a daemon's
# unit does this for flanneld (systemd's Restart=). Perl, not node: 5.6 MB resident (1 MB
# of its own) for a process that only waits, and no module is loaded (perl-base, as the hook
# client).
#
# - One per state dir: it holds flock(supervisor.lock) for its life and writes
#   supervisor.pid. A second one reports a live agent at once ({"ok":true,"running":true,
#   "pid":...}); when none runs (a starter that found none while this one waits to start it
#   again) it stops this one (SIGTERM) and takes over, so its starter gets the start's own
#   answer: an agent that keeps failing fails the start with its message, not a timeout.
# - The first agent's readiness line is passed on to the starter; an agent that fails
#   before it is ready there ends the supervisor with it (the starter reports the failure
#   and rolls back). Later agents' lines go to the log.
# - An agent that exits 0 (SIGTERM: network rm, create replacing a stale one; or another
#   agent already holds agent.lock) ends the supervisor: it is never started against a stop.
#   Any other end (a signal, exit 1) starts it again within 1 s, then after 2, 4, ... 30 s while
#   it keeps failing (a run of 30 s starts the count again), and only while the network's
#   state.json is there (network rm removes it).
# - A live agent it did not start (its supervisor was killed with -9, the agent was not,
#   and started this one: src/overlay-agent/main.ts) is adopted: watched by its pid and
#   start time every 250 ms, started again once gone, unless it exited cleanly (its pid file
#   removed, as the agent does on SIGTERM).
# - SIGTERM/SIGINT: the agent gets SIGTERM (SIGKILL after 5 s), then the supervisor removes
#   its pid file and exits 0.
use strict;
use warnings;

my ($dir, @agent) = @ARGV;
die "tsnerd overlay supervisor: usage: supervise.pl <state dir> <agent argv...>\n" unless defined $dir && @agent;
$SIG{PIPE} = 'IGNORE';

my $pid_file = "$dir/supervisor.pid";
my $agent_pid_file = "$dir/agent.pid";
my $state_file = "$dir/state.json";
my @BACKOFF = (1, 2, 4, 8, 16, 30);    # seconds (perl's time() counts whole ones: the first restart comes within 1 s)
my $STABLE_S = 30;
my $STOP_GRACE_S = 5;
my $WAIT_OTHER_S = 15;    # inside the starter's 20 s

sub logline {
  my @t = gmtime(time);
  printf STDERR "%04d-%02d-%02dT%02d:%02d:%02dZ [%d] supervisor: %s\n", $t[5] + 1900, $t[4] + 1, $t[3], $t[2], $t[1], $t[0], $$, $_[0];
}

# The starter's readiness pipe (absent when started by hand).
my $ready;
$ready = undef unless open($ready, '>&=', 3);

sub report {
  my ($line) = @_;
  return unless $ready;
  syswrite($ready, "$line\n");
  close $ready;
  $ready = undef;
}

sub json_str { my $s = $_[0]; $s =~ s/(["\\])/\\$1/g; $s =~ s/[\x00-\x1f]/ /g; "\"$s\"" }

open(my $lock, '>>', "$dir/supervisor.lock") or do {
  report('{"ok":false,"message":' . json_str("cannot open $dir/supervisor.lock: $!") . '}');
  exit 1;
};
# Another supervisor holds the lock: its agent runs (reported at once), or it has none (it
# waits to start it again, or is starting it): it is stopped and this one takes over once the
# lock is free (it stops a starting agent within 5 s), or the agent it started is reported.
my $waited = 0;
until (flock($lock, 6)) {    # LOCK_EX | LOCK_NB
  my ($live) = live_agent();
  if ($live) {
    report('{"ok":true,"running":true,"pid":' . $live . '}');
    exit 0;
  }
  if ($waited == 0) {
    my $other = read_pid($pid_file);
    kill('TERM', $other) if $other && is_supervisor($other);
  }
  if ($waited >= $WAIT_OTHER_S) {
    report('{"ok":false,"message":' . json_str("the supervisor of $dir did not give way within $WAIT_OTHER_S s") . '}');
    exit 1;
  }
  select(undef, undef, undef, 0.1);
  $waited += 0.1;
}
write_pid_file();

my ($child, $child_started, $relay, $relay_buf, $first, $last_pid);
my ($adopted, $adopted_start);
my $stopping = 0;
my $failures = 0;
my $next_start = 0;
my $ever_ready = 0;
$SIG{TERM} = $SIG{INT} = sub { $stopping = 1 };
$SIG{CHLD} = sub { };    # wakes the select below

$first = 1;
while (1) {
  if ($stopping) {
    stop_agent();
    finish(0);
  }
  if ($relay) {
    my $rin = '';
    vec($rin, fileno($relay), 1) = 1;
    if (select(my $rout = $rin, undef, undef, 0) > 0) {
      my $n = sysread($relay, my $chunk, 4096);
      if (defined $n && $n > 0) {
        $relay_buf .= $chunk;
      } elsif (defined $n) {
        ready_line($relay_buf);
        close $relay;
        $relay = undef;
      }
    }
  }
  if ($child) {
    my $w = waitpid($child, 1);    # WNOHANG
    if ($w == $child) {
      my $status = $?;
      my $pid = $child;
      $child = undef;
      if ($relay) {                # its readiness line, if it wrote one before it ended
        while (1) {
          my $n = sysread($relay, my $chunk, 4096);
          last unless $n;
          $relay_buf .= $chunk;
        }
        ready_line($relay_buf);
        close $relay;
        $relay = undef;
      }
      my $how = ($status & 127) ? 'signal ' . ($status & 127) : 'exit ' . ($status >> 8);
      if ($status == 0) {
        logline("agent $pid exited cleanly: done");
        finish(0);
      }
      if (!$ever_ready) {
        logline("agent $pid ended ($how) before it was ever ready: done");
        report('{"ok":false,"message":' . json_str("the overlay agent ended ($how) before it was ready") . '}');
        finish(1);
      }
      if ($status >> 8 == 2 && !($status & 127)) {
        logline("agent $pid: usage error: done");
        finish(1);
      }
      $failures = 0 if time - $child_started >= $STABLE_S;
      my $delay = $BACKOFF[$failures < $#BACKOFF ? $failures : $#BACKOFF];
      $failures++;
      $next_start = time + $delay;
      logline("agent $pid ended ($how): starting it again in $delay s");
    }
  } elsif ($adopted) {
    if (!same_process($adopted, $adopted_start)) {
      my $gone = $adopted;
      $adopted = undef;
      my ($live, $start) = live_agent();
      my $named = read_pid($agent_pid_file);
      if ($live) {
        ($adopted, $adopted_start) = ($live, $start);
        logline("adopted agent $gone is gone, agent $live runs: watching it");
      } elsif (!defined $named || $named != $gone) {
        # Its exit status is not ours to see: a clean exit removes its pid file, a kill leaves it.
        logline("adopted agent $gone exited cleanly (its pid file is gone): done");
        finish(0);
      } else {
        logline("adopted agent $gone ended (killed): starting it again in $BACKOFF[0] s");
        $next_start = time + $BACKOFF[0];
        $failures = 1;
      }
    }
  } elsif (time >= $next_start) {
    if (!-e $state_file) {
      logline("$state_file is gone (network rm): done");
      report('{"ok":false,"message":' . json_str("no overlay state in $dir") . '}');
      finish(0);
    }
    my ($live, $start) = live_agent();
    if ($live) {
      ($adopted, $adopted_start) = ($live, $start);
      $ever_ready = 1;
      $first = 0;    # answered: the agents it starts later report to the log
      logline("agent $live runs already: watching it");
      report('{"ok":true,"running":true,"pid":' . $live . '}');
    } else {
      start_agent();
    }
  }
  select(undef, undef, undef, 0.25);
}

sub ready_line {
  my ($text) = @_;
  my ($line) = split /\n/, ($text // '');
  $line = '' unless defined $line;
  $ever_ready = 1 if $line =~ /"ok"\s*:\s*true/;
  if ($first) {
    $first = 0;
    report($line) if length $line;    # none: the starter sees the pipe close and reads the log
  } elsif (length $line) {
    logline("agent $last_pid ready: $line");
  }
}

sub start_agent {
  pipe(my $r, my $w) or do { logline("pipe: $!"); $next_start = time + 1; return };
  my $pid = fork();
  if (!defined $pid) {
    logline("fork: $!");
    close $r;
    close $w;
    $next_start = time + 1;
    return;
  }
  if ($pid == 0) {
    # The agent's fd 3 is its readiness pipe, read here: the write end moved to 3 (lowest free
    # descriptor once the starter's pipe is closed; $^F = 3 keeps it open across exec).
    close $r;
    close $ready if $ready;
    close $lock;
    $^F = 3;
    open(my $fd3, '>&', $w) or exit 127;
    exit 127 unless fileno($fd3) == 3;
    close $w;
    $SIG{$_} = 'DEFAULT' for qw(TERM INT CHLD PIPE);
    exec { $agent[0] } @agent or print STDERR "supervisor: cannot run $agent[0]: $!\n";
    exit 127;
  }
  close $w;
  $last_pid = $pid;
  ($child, $child_started, $relay, $relay_buf) = ($pid, time, $r, '');
  logline("agent $pid started") unless $first;
}

sub stop_agent {
  my ($pid, $start) = $child ? ($child, undef) : $adopted ? ($adopted, $adopted_start) : ();
  return unless $pid;
  return if defined $start && !same_process($pid, $start);
  kill('TERM', $pid);
  my $deadline = time + $STOP_GRACE_S;
  while (time < $deadline) {
    if ($child) {
      last if waitpid($child, 1) == $child;
    } else {
      last unless same_process($pid, $start);
    }
    select(undef, undef, undef, 0.05);
  }
  if ($child ? kill(0, $child) : same_process($pid, $start)) {
    kill('KILL', $pid);
    waitpid($child, 0) if $child;
  }
  logline("agent $pid stopped");
}

sub finish {
  my ($code) = @_;
  report('{"ok":false,"message":"the overlay agent supervisor ended"}');
  my $named = read_pid($pid_file);
  unlink $pid_file if $named && $named == $$;
  exit $code;
}

sub read_pid {
  open(my $fh, '<', $_[0]) or return undef;
  my $text = <$fh>;
  close $fh;
  return (defined $text && $text =~ /^(\d+)\s*$/ && $1 > 1) ? $1 : undef;
}

sub write_pid_file {
  my $tmp = "$pid_file.tmp.$$";
  open(my $fh, '>', $tmp) or return;
  print $fh "$$\n";
  close $fh;
  rename $tmp, $pid_file;
}

# The start time (field 22 of /proc/<pid>/stat) of a live, not zombie process; undef when gone.
sub start_time {
  open(my $fh, '<', "/proc/$_[0]/stat") or return undef;
  my $stat = <$fh>;
  close $fh;
  return undef unless defined $stat && $stat =~ /\)\s+(\S)\s+(.*)$/;
  return undef if $1 eq 'Z' || $1 eq 'X';
  my @f = split ' ', $2;
  return $f[19];
}

sub same_process {
  my ($pid, $start) = @_;
  my $now = start_time($pid);
  return defined $now && defined $start && $now eq $start;
}

sub argv_of {
  open(my $fh, '<', "/proc/$_[0]/cmdline") or return ();
  local $/;
  my $text = <$fh>;
  close $fh;
  return split /\0/, ($text // '');
}

# The agent of this dir that agent.pid names, if it runs: (pid, start time).
sub live_agent {
  my $pid = read_pid($agent_pid_file) or return ();
  my $start = start_time($pid);
  return () unless defined $start;
  my @argv = argv_of($pid);
  for my $i (1 .. $#argv - 1) {
    return ($pid, $start) if $argv[$i] =~ m{/overlay-agent/main\.(c?js|ts)$} && $argv[$i + 1] eq $dir;
  }
  return ();
}

sub is_supervisor {
  my @argv = argv_of($_[0]);
  for my $i (1 .. $#argv - 1) {
    return 1 if $argv[$i] =~ m{/overlay-agent/supervise\.pl$} && $argv[$i + 1] eq $dir;
  }
  return 0;
}
