# tsnerd's CLI client (docs/architecture.md, "The CLI server"). bin/tsnerd runs it for
# `run`, `create`, `start` and `rm`:
#   perl cli-client.pl <fast-main.cjs> <n> <node argv: n words> <tsnerd arguments...>
# It hands the command to the data root's CLI server (src/cli/cli-server.ts, a warm node
# process) and copies the server's frames to its stdout and stderr, forwards the signals
# it gets and exits with the command's code: a command costs a perl start (~2 ms) instead
# of a node start and its modules.
#
# When no server answers (none runs, a stale socket, one that is exiting) the client
# execs the node CLI with the same arguments, TSNERD_CLI_SERVER_START naming the socket:
# that process starts a server for the next commands. A server that refuses the command
# ('L': stdin, another data root, a test knob, a command line for oclif) has run nothing
# either: the node CLI runs it. Once the server has taken the command ('A'), it is the
# server's: a connection that ends without the exit code is a server that died, reported
# as such, never run again.
#
# Wire: netstrings (`<length>:<bytes>,`), described in src/cli/cli-server.ts. As the hook
# client, no module is loaded (`use Socket` alone costs ~6 ms): Linux's constants
# (PF_UNIX 1, SOCK_STREAM 1, EINTR 4) and sockaddr_un packed by hand.

my ($bundle, $n, @rest) = @ARGV;
die "tsnerd cli client: usage: cli-client.pl <bundle> <n> <node argv...> <args...>\n" unless defined $n && $n =~ /^\d+$/ && @rest >= $n;
my @node = splice(@rest, 0, $n);
my @args = @rest;

# The command in a node CLI process; $start: the socket it starts a server on.
sub run_local {
  my ($start) = @_;
  if (defined $start) { $ENV{TSNERD_CLI_SERVER_START} = $start } else { delete $ENV{TSNERD_CLI_SERVER_START} }
  exec { $node[0] } @node, @args;
  print STDERR "tsnerd: cannot run $node[0]: $!\n";
  exit 1;
}

run_local() if defined $ENV{TSNERD_CLI_SERVER} && $ENV{TSNERD_CLI_SERVER} eq '0';
my $root = $ENV{TSNERD_DATA_ROOT};
$root = '/var/lib/tsnerd' unless defined $root && $root ne '';
run_local() unless $root =~ m{^/};    # relative: the node CLI resolves it
$root =~ s{/+$}{};
open(my $fh, '<', $bundle) or run_local();
my $first = <$fh>;
close $fh;
my ($id) = (defined $first ? $first : '') =~ m{^// tsnerd-build:([0-9a-f]{12})};
run_local() unless defined $id;
my $socket_path = "$root/cli-server/$id.sock";
run_local() if length($socket_path) > 107;    # sun_path

socket(my $sock, 1, 1, 0) or run_local();
connect($sock, pack('S', 1) . $socket_path) or run_local($socket_path);

sub netstring { length($_[0]) . ':' . $_[0] . ',' }

# Writes all of $data to $fh; false when it cannot (the reader is gone).
sub write_all {
  my ($fh, $data) = @_;
  my $off = 0;
  while ($off < length $data) {
    my $w = syswrite($fh, $data, length($data) - $off, $off);
    if (!defined $w) {
      next if $! + 0 == 4;    # EINTR
      return 0;
    }
    $off += $w;
  }
  return 1;
}

$SIG{PIPE} = 'IGNORE';    # a reader or a server gone shows as a failed write
my @env = map { "$_=$ENV{$_}" } keys %ENV;
my $request = netstring('tsnerd-cli-1') . netstring($$) . netstring(scalar @args) . join('', map { netstring($_) } @args)
  . netstring(scalar @env) . join('', map { netstring($_) } @env);
write_all($sock, $request) or run_local($socket_path);

my $buf = '';
sub read_more {
  for (;;) {
    my $got = sysread($sock, $buf, 65536, length $buf);
    return $got if defined $got;
    return 0 unless $! + 0 == 4;
  }
}
while ($buf eq '') { last if read_more() == 0 }
run_local($socket_path) if $buf eq '';    # closed without a word: an exiting server took nothing
my $answer = substr($buf, 0, 1, '');
run_local() if $answer eq 'L';
if ($answer ne 'A') {
  print STDERR "tsnerd: the CLI server at $socket_path answered what no server says\n";
  exit 1;
}

# The command is the server's now: the signals we get are its (sig-proxy for an attached run).
my %signo = (INT => 2, TERM => 15, HUP => 1, QUIT => 3, USR1 => 10, USR2 => 12);
for my $name (keys %signo) {
  $SIG{$name} = sub { write_all($sock, netstring("SIG$name")) };
}

my $err_ok = 1;
for (;;) {
  while (length($buf) >= 3) {
    my $colon = index($buf, ':', 1);
    last if $colon < 0;
    my $len = substr($buf, 1, $colon - 1);
    if ($len !~ /^\d{1,10}$/) {
      print STDERR "tsnerd: the CLI server at $socket_path sent a malformed frame\n";
      exit 1;
    }
    last if length($buf) < $colon + $len + 2;
    my $type = substr($buf, 0, 1);
    my $data = substr($buf, $colon + 1, $len);
    substr($buf, 0, $colon + $len + 2, '');
    if ($type eq 'o') {
      # A reader gone (`tsnerd run ... | head -1`): done, as the CLI process exits 0 on EPIPE; the command runs on.
      exit 0 if !write_all(\*STDOUT, $data) && $! + 0 == 32;
    } elsif ($type eq 'e') {
      $err_ok &&= write_all(\*STDERR, $data);
    } elsif ($type eq 'x') {
      exit($data =~ /^\d{1,3}$/ ? $data : 1);
    } elsif ($type eq 'k') {
      # a signal the command does not forward: we die of it, as a CLI process would; the command runs on
      my $name = $data;
      $name =~ s/^SIG//;
      if (exists $signo{$name}) {
        $SIG{$name} = 'DEFAULT';
        kill $name, $$;
        exit(128 + $signo{$name});
      }
    }
  }
  last if read_more() == 0;
}
my $log = $socket_path;
$log =~ s/\.sock$/.log/;
print STDERR "tsnerd: the CLI server ended before the command did (see $log); `tsnerd rm -f` or `tsnerd network gc` cleans up after it\n";
exit 1;
