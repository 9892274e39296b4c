# tsnerd's OCI hook client (docs/architecture.md, "The hook server"). runc runs it as
#   perl hook-client.pl <server socket> <hook argv: node ... cli.js internal oci-hook <event> <flags>>
# with the container's state on stdin. It hands the hook to the data root's hook
# server (src/hook-server/main.ts, a warm node process) and exits with its answer,
# so a hook costs a perl start (~2 ms) instead of a node start and module loading.
#
# The server is asked only once it could be reached: when it cannot (no server, a
# stale socket of a killed one, a server that refused the request), the client
# execs the hook argv itself (the node hook process, as without a server), giving
# it the state it read on a new stdin; that hook also starts a server, detached,
# for the next hooks. Once the server has acknowledged the request (one byte 'A'),
# the hook is the server's: a connection that ends before the answer (the server
# died) fails the hook without running it again, and the CLI's rollback cleans up
# as after any killed hook.
#
# Request: netstrings (`<length>:<bytes>,`): "tsnerd-hook-1", the number of
# arguments and each argument after `oci-hook` (the event, then the flags), the
# number of environment entries and each `NAME=value`, then the state. Answer:
# 'A' as soon as the request is taken, later the exit code and the stderr text
# (netstrings) and the end of the connection. src/hook-server/protocol.ts is the
# server's side. No module is loaded (no JSON, not even Socket, whose loading is ~6 ms of a
# ~2 ms perl start): the socket calls use Linux's constants (PF_UNIX 1, SOCK_STREAM 1) and
# sockaddr_un packed by hand (a native u16 family, then the path).

my ($socket_path, @hook) = @ARGV;
die "tsnerd hook client: usage: hook-client.pl <socket> <hook argv...>\n" unless defined $socket_path && @hook;
binmode STDIN;
binmode STDERR;
my $state = do { local $/; <STDIN> };
$state = '' unless defined $state;

sub netstring { length($_[0]) . ':' . $_[0] . ',' }

# Runs the hook process itself with the state on its stdin; $start: it also starts a server.
sub run_hook_process {
  my ($start) = @_;
  if ($start) { $ENV{TSNERD_HOOK_SERVER_START} = $socket_path } else { delete $ENV{TSNERD_HOOK_SERVER_START} }
  pipe(my $r, my $w) or die "tsnerd hook client: pipe: $!\n";
  if (length($state) <= 4096) {
    # Fits in any pipe's buffer (one page): written before the exec, no process waits on the reader.
    syswrite($w, $state) == length($state) or die "tsnerd hook client: cannot pass the state on: $!\n";
  } else {
    my $pid = fork();
    die "tsnerd hook client: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
      close $r;
      open(STDOUT, '>', '/dev/null');
      open(STDERR, '>', '/dev/null');
      my $off = 0;
      while ($off < length $state) {
        my $n = syswrite($w, $state, length($state) - $off, $off);
        last unless $n;
        $off += $n;
      }
      exit 0;
    }
  }
  close $w;
  open(STDIN, '<&', $r) or die "tsnerd hook client: stdin: $!\n";
  close $r;
  exec { $hook[0] } @hook;
  print STDERR "tsnerd oci-hook: cannot run $hook[0]: $!\n";
  exit 1;
}

# The fault suite kills or stops "the hook process" (TSNERD_FAULT): its own, unless asked otherwise.
run_hook_process(0) if defined $ENV{TSNERD_FAULT} && !$ENV{TSNERD_HOOK_SERVER_FAULTS};

my ($at) = grep { $hook[$_] eq 'oci-hook' } 0 .. $#hook;
run_hook_process(0) unless defined $at;
my @args = @hook[$at + 1 .. $#hook];

socket(my $sock, 1, 1, 0) or run_hook_process(0);
connect($sock, pack('S', 1) . $socket_path) or run_hook_process(1);

$SIG{PIPE} = 'IGNORE';    # a server gone mid-write shows as a short read below
my @env = map { "$_=$ENV{$_}" } sort keys %ENV;
my $request = netstring('tsnerd-hook-1') . netstring(scalar @args) . join('', map { netstring($_) } @args)
  . netstring(scalar @env) . join('', map { netstring($_) } @env) . netstring($state);
my $off = 0;
while ($off < length $request) {
  my $n = syswrite($sock, $request, length($request) - $off, $off);
  last unless $n;
  $off += $n;
}
my $reply = '';
while (1) {
  my $n = sysread($sock, my $buf, 65536);
  last unless $n;
  $reply .= $buf;
}
close $sock;

# Not acknowledged: the server did not take it (it was exiting, or it is not ours). Nothing ran.
run_hook_process(1) if $reply eq '' || substr($reply, 0, 1) ne 'A';

my $pos = 1;
sub field {
  return undef unless substr($reply, $pos) =~ /^(\d{1,10}):/;
  my ($len, $start) = ($1, $pos + length($1) + 1);
  return undef if $start + $len + 1 > length($reply) || substr($reply, $start + $len, 1) ne ',';
  $pos = $start + $len + 1;
  return substr($reply, $start, $len);
}
my $code = field();
my $stderr = field();
if (!defined $code || !defined $stderr || $code !~ /^\d{1,3}$/) {
  my $log = $socket_path;
  $log =~ s/\.sock$/.log/;
  print STDERR "tsnerd oci-hook: the hook server ended before it answered ($args[0]; see $log): the hook was not run again\n";
  exit 1;
}
print STDERR $stderr;
exit $code;
