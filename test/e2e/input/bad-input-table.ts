/**
 * The generated table of malformed inputs (issue 12, "bad input at scale"):
 * every flag whose value lands in a file, with each kind of control
 * character, the nonsensical subnets, MTUs, addresses and names, the global
 * settings, tsnerd.toml, and the OCI hook's stdin. Each row says which text
 * the one line on stderr must contain: the bad value as the user wrote it,
 * escaped so its control characters are visible.
 */

export interface BadInput {
  /** Shown when the row fails. */
  what: string;
  args: string[];
  /** Replaces variables of the env's environment. */
  env?: Record<string, string>;
  stdin?: string;
  /** What the stderr line must contain. */
  names: string;
}

/** What the table needs from the env it runs against. */
export interface TableContext {
  /** A bridge network with subnet 10.213.10.0/24, gateway .1, ip-range 10.213.10.128/25. */
  network: string;
  /** tsnerd.toml files by content, written before the run. */
  toml(content: string): string;
  /** A directory (for TSNERD_TOML pointing at one). */
  dir: string;
  /** The hook's global arguments (`--address … --namespace …`). */
  hookArgs: string[];
  /** The state dir a container `id` would have. */
  stateDir(id: string): string;
  namespace: string;
  /** Hand-written conflists by network name, written into the conf dir before the run. */
  conflist(name: string, content: string): void;
  /** A process in a network namespace of its own: the pid the store rows give the hook. */
  pid: number;
  /** A container state dir (id → network-config.json content) made before the run. */
  storeFile(id: string, networkConfig: string): void;
}

/** Control characters a value can carry in argv (NUL cannot), C1 and a Unicode line separator included. */
const CONTROLS = ['\n', '\r', '\t', '\x01', '\x1b', '\x7f', '\u0085', '\u2028'];

/** The address of a container that runs during the whole table (see bad-input.test.ts). */
export const HELD_IP = '10.213.10.150';

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

/** The value escaped as messages show it (`\n`, `\x01`, `\u2028`), without the quotes. */
export function escaped(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029"\\]/g, (c) => {
    const code = c.charCodeAt(0);
    return ESCAPES[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

const shown = (value: string): string => `"${escaped(value)}"`;

export function badInputs(ctx: TableContext): BadInput[] {
  return [
    ...flagControls(ctx),
    ...runValues(ctx),
    ...networkCreate(),
    ...globals(),
    ...tomlFiles(ctx),
    ...conflists(ctx),
    ...storeFiles(ctx),
    ...hookStdin(ctx),
  ];
}

/** Each `run`/`create` flag whose value lands in a file or a label, with each control character. */
function flagControls(ctx: TableContext): BadInput[] {
  const flags: Array<[string, (c: string) => string, ((v: string) => string)?]> = [
    ['--dns-search', (c) => `a.com${c}nameserver 1.2.3.4`],
    ['--dns-opt', (c) => `ndots:1${c}nameserver 1.2.3.4`],
    ['--hostname', (c) => `web${c}x`],
    ['--domainname', (c) => `example.com${c}x`],
    ['--add-host', (c) => `db:10.213.10.9${c}`],
    ['--label', (c) => `team=a${c}b`],
    ['--name', (c) => `inp-n${c}x`],
    ['--dns', (c) => `10.213.10.53${c}`],
    ['--ip', (c) => `10.213.10.140${c}`],
    ['--ip6', (c) => `fd00:213::5${c}`],
    ['--mac-address', (c) => `02:42:ac:11:00:02${c}`],
    ['-p', (c) => `39301${c}:80`],
    ['--expose', (c) => `80${c}`],
    ['-e', (c) => `A${c}B=1`, (v) => escaped(v.slice(0, v.indexOf('=')))],
    ['--net', (c) => `inp-net${c}x`],
    ['--uts', (c) => `host${c}`],
  ];
  const rows: BadInput[] = [];
  for (const [flag, value, names] of flags) {
    for (const c of CONTROLS) {
      const v = value(c);
      rows.push({ what: `run ${flag} ${shown(v)}`, args: ['run', '--rm', flag, v, 'busybox', 'true'], names: names ? names(v) : shown(v) });
    }
  }
  // A control character first, and through `create` too.
  for (const [flag, value] of flags.slice(0, 8)) {
    for (const c of CONTROLS) {
      const v = `${c}${value('')}`;
      rows.push({
        what: `create ${flag} ${shown(v)}`,
        args: ['create', '--net', ctx.network, flag, v, 'busybox', 'true'],
        names: shown(v),
      });
    }
  }
  return rows;
}

/** Values without control characters that make no sense, for `run`. */
function runValues(ctx: TableContext): BadInput[] {
  const net = ctx.network;
  const rows: Array<[string[], string]> = [
    [['--dns-search', 'a.com b.com'], '"a.com b.com"'],
    [['--dns-search', ''], '--dns-search ""'],
    [['--dns-opt', 'ndots:1 rotate'], '"ndots:1 rotate"'],
    [['--hostname', `${'h'.repeat(40)}.${'h'.repeat(24)}`], 'longer than 64'],
    [['--hostname=-web'], '"-web"'],
    [['--hostname', 'we_b'], '"we_b"'],
    [['--hostname', 'a..b'], '"a..b"'],
    [['--domainname', 'ex ample.com'], '"ex ample.com"'],
    [['--mac-address', '01:00:5e:00:00:01'], '"01:00:5e:00:00:01"'],
    [['--mac-address', '33:33:00:00:00:01'], '"33:33:00:00:00:01"'],
    [['--mac-address', 'ff:ff:ff:ff:ff:ff'], '"ff:ff:ff:ff:ff:ff"'],
    [['--mac-address', '00:00:00:00:00:00'], '"00:00:00:00:00:00"'],
    [['--mac-address', '02:42:ac:11:00'], '"02:42:ac:11:00"'],
    [['--mac-address', 'zz:42:ac:11:00:02'], '"zz:42:ac:11:00:02"'],
    [['--net', net, '--ip', '10.213.10.1'], '"10.213.10.1" is the gateway'],
    [['--net', net, '--ip', '10.213.10.0'], '"10.213.10.0" is the network address'],
    [['--net', net, '--ip', '10.213.10.255'], '"10.213.10.255" is the broadcast address'],
    [['--net', net, '--ip', '10.213.11.5'], '"10.213.11.5" is outside the subnets'],
    [['--net', net, '--ip', '10.213.10.5'], '"10.213.10.5" is outside the ip-range'],
    [['--net', net, '--ip6', 'fd00:213::5'], '"fd00:213::5" needs an IPv6 subnet'],
    [['--net', net, '--ip', HELD_IP], `"${HELD_IP}" is already in use by container "inp-bi-holder"`],
    [['--net', net, '--ip', 'fd00::1'], '--ip "fd00::1"'],
    [['--net', net, '--ip', '999.1.1.1'], '--ip "999.1.1.1"'],
    [['--net', net, '--ip', '10.213.10'], '--ip "10.213.10"'],
    [['--net', net, '--ip6', '10.213.10.5'], '--ip6 "10.213.10.5"'],
    [['--dns', '1.2.3'], '"1.2.3"'],
    [['--dns', 'dns.example'], '"dns.example"'],
    [['--net', net, '-p', '10.99.99.99:39302:80'], '"10.99.99.99"'],
    [['--net', net, '-p', '192.0.2.1:39303:80'], '"192.0.2.1"'],
    [['--net', net, '-p', '[2001:db8::1]:39304:80'], '"2001:db8::1"'],
    [['-p', '99999:80'], '99999'],
    [['-p', 'abc'], 'abc'],
    [['-p', '80/xyz'], '"xyz"'],
    [['-p', '0:80'], 'hostPort: 0'],
    [['-p', '1:2:3:4'], '1:2:3'],
    [['-p', '8080-8082:3000-3001'], '3000-3001'],
    [['-p', '80/tcp/udp'], '80/tcp/udp'],
    [['--expose', '80:80'], '80:80'],
    [['--expose', 'abc'], 'abc'],
    [['--expose', '70000'], '70000'],
    [['--name', 'a b'], '"a b"'],
    [['--name', '-x'], '"-x"'],
    [['--name', 'a/b'], '"a/b"'],
    [['--name', 'n'.repeat(256)], '(256 characters)'],
    [['--label', 'tsnerd/networks=[]'], '"tsnerd/networks"'],
    [['--label', 'nerdctl/networks=["x"]'], '"nerdctl/networks"'],
    [['--label', '=x'], '"=x"'],
    [['--uts', 'private'], '"private"'],
    [['--net', 'inp-nosuch-net'], '"inp-nosuch-net"'],
    [['--net', 'container:inp-nosuch-ctr'], 'inp-nosuch-ctr'],
    [['--add-host', 'nohost'], '"nohost"'],
    [['--add-host', ':10.0.0.1'], '":10.0.0.1"'],
    [['--add-host', 'db:notip'], '"notip"'],
    [['--add-host=-db:10.0.0.1'], '"-db:10.0.0.1"'],
    [['-e', '=x'], '"=x"'],
    [['--net', 'host', '--ip', '10.213.10.140'], '--ip'],
    [['--net', 'none', '-p', '39305:80'], 'published ports'],
    [['-w', 'relative'], '"relative"'],
  ];
  return rows.map(([args, names]) => ({
    what: `run ${args.map(shown).join(' ')}`,
    args: ['run', '--rm', ...args, 'busybox', 'true'],
    names,
  }));
}

function networkCreate(): BadInput[] {
  const rows: Array<[string[], string]> = [];
  const create = (args: string[], names: string): void => void rows.push([['network', 'create', ...args], names]);
  for (const name of ['a', 'a b', 'a/b', '.ab', 'x'.repeat(129)]) create([name], name.length > 100 ? '(129 characters)' : shown(name));
  create(['--', '-ab'], '"-ab"');
  for (const name of ['host', 'none', 'bridge']) create([name], `predefined ${name} network`);
  for (const c of CONTROLS) create([`inp-n${c}x`], shown(`inp-n${c}x`));
  for (const label of [
    'nerdctl/default-network=true',
    'nerdctl/networks=[]',
    'nerdctl/network-aux-addresses={}',
    'tsnerd/x=1',
    'tsnerd/networks',
    'nerdctl/=',
  ]) {
    create(['inp-bl', '--label', label], shown(label.slice(0, label.indexOf('=') < 0 ? undefined : label.indexOf('='))));
  }
  for (const c of CONTROLS) create(['inp-bl', '--label', `team=a${c}b`], shown(`team=a${c}b`));
  for (const c of CONTROLS) create(['inp-bl', '--label', `te${c}am=a`], shown(`te${c}am=a`));
  create(['inp-bl', '--label', '=x'], '"=x"');
  const subnets = [
    '224.0.0.0/24',
    '239.255.0.0/16',
    '169.254.0.0/16',
    '169.254.1.0/24',
    '127.0.0.0/8',
    '127.1.0.0/16',
    '240.0.0.0/4',
    '250.1.0.0/16',
    '255.255.255.0/24',
    '0.0.0.0/8',
    '0.0.0.0/0',
    '0.1.0.0/16',
    '192.0.0.0/2',
    '128.0.0.0/1',
    '10.0.0.0/33',
    '10.0.0.300/24',
    'abc',
    '10.0.0.1/24',
    '',
    '10.0.0.0',
    '10.0.0.0/24/1',
    '10.0.0.0/-1',
    '10.213.0.0/31',
    'fd00:213::/64',
  ];
  for (const s of subnets) create(['inp-bs', '--subnet', s], shown(s));
  for (const s of ['fe80::/64', 'ff02::/64', 'ff00::/8', '::/0', '::ffff:0:0/96', '::1/128'])
    create(['inp-bs', '--ipv6', '--subnet', s], shown(s));
  for (const c of ['\n', '\t', '\x1b']) create(['inp-bs', '--subnet', `10.213.20.0/24${c}`], shown(`10.213.20.0/24${c}`));
  const withSubnet = ['inp-bg', '--subnet', '10.213.21.0/24'];
  for (const g of ['10.213.22.1', '10.213.21.0', '10.213.21.255', 'gw', '10.213.21.1\n']) create([...withSubnet, '--gateway', g], shown(g));
  for (const r of ['10.213.22.0/25', '10.213.21.1/25', 'range', '10.213.21.0/25\n']) create([...withSubnet, '--ip-range', r], shown(r));
  for (const mtu of ['0', '1', '67', '65536', '99999999', '-1', 'abc', '', '1.5', '1e3', ' 1500', '1500\n']) {
    create([...withSubnet, '-o', `mtu=${mtu}`], shown(mtu));
  }
  create([...withSubnet, '-o', 'com.docker.network.driver.mtu=0'], '"0"');
  create(['inp-bg', '--ipv6', '--subnet', 'fd00:213:1::/64', '-o', 'mtu=1279'], '"1279"');
  for (const parent of ['eth0\n', '', 'a/b', 'x'.repeat(16), 'a b', '.', 'a:b']) {
    create(['inp-bm', '-d', 'macvlan', '-o', `parent=${parent}`], parent === '' ? 'parent' : shown(parent));
  }
  create(['inp-bm', '-d', 'macvlan', '-o', 'parent=lo', '-o', 'mode=vepa'], '"vepa"');
  create(['inp-bm', '-d', 'ipvlan', '-o', 'parent=lo', '-o', 'mode=l4'], '"l4"');
  create(['inp-bm', '-d', 'overlay2'], '"overlay2"');
  create(['inp-bm', '-d', 'br\nidge'], shown('br\nidge'));
  create(['inp-bm', '--ipam-driver', 'static'], '"static"');
  create(['inp-bm', '-o', 'icc=maybe'], '"maybe"');
  create(['inp-bm', '-o', 'nosuch=1'], '"nosuch"');
  create(['inp-bm', '-o', 'ip-masq=\n'], shown('\n'));
  return rows.map(([args, names]) => ({ what: args.map(shown).join(' '), args, names }));
}

/** The global settings through a flag, the environment, on a command of the fast path and one of oclif. */
function globals(): BadInput[] {
  const rows: BadInput[] = [];
  const vars = ['CONTAINERD_ADDRESS', 'CONTAINERD_NAMESPACE', 'TSNERD_DATA_ROOT', 'CNI_PATH', 'NETCONFPATH'];
  const flags = ['--address', '--namespace', '--data-root', '--cni-path', '--cni-netconfpath'];
  for (const command of [
    ['ps', '-a'],
    ['network', 'ls'],
  ]) {
    for (const v of vars) {
      rows.push({ what: `${v}= ${command.join(' ')}`, args: command, env: { [v]: '' }, names: v });
      rows.push({ what: `${v}=…\\n… ${command.join(' ')}`, args: command, env: { [v]: '/tmp/inp\nx' }, names: `${v} "/tmp/inp\\nx"` });
    }
    for (const f of flags) rows.push({ what: `${f} "" ${command.join(' ')}`, args: [f, '', ...command], names: f });
    // dns_bind_port (Podman's): a port or nothing, from each source.
    rows.push({
      what: `TSNERD_DNS_BIND_PORT= ${command.join(' ')}`,
      args: command,
      env: { TSNERD_DNS_BIND_PORT: '' },
      names: 'TSNERD_DNS_BIND_PORT',
    });
    for (const port of ['x', '0', '65536', '-1', '1153 ']) {
      rows.push({
        what: `TSNERD_DNS_BIND_PORT=${port} ${command.join(' ')}`,
        args: command,
        env: { TSNERD_DNS_BIND_PORT: port },
        names: shown(port),
      });
      rows.push({
        what: `--dns-bind-port ${port} ${command.join(' ')}`,
        args: [`--dns-bind-port=${port}`, ...command],
        names: shown(port),
      });
    }
    for (const ns of ['a/b', '_a', 'a_', 'a b', 'x'.repeat(77), '..', 'a..b']) {
      rows.push({ what: `--namespace ${shown(ns)} ${command.join(' ')}`, args: [`--namespace=${ns}`, ...command], names: shown(ns) });
    }
  }
  return rows;
}

function tomlFiles(ctx: TableContext): BadInput[] {
  const rows: BadInput[] = [];
  const files: Array<[string, string]> = [
    ['address = ', 'not valid TOML'],
    ['address = "x', 'not valid TOML'],
    ['[[', 'not valid TOML'],
    ['namespace = "a"\nnamespace = "b"', 'not valid TOML'],
    ['namespace = "a" extra', 'not valid TOML'],
    ['= 5', 'not valid TOML'],
    ['\u0000\u0001garbage', 'not valid TOML'],
    ['address = 5', '"address"'],
    ['namespace = []', '"namespace"'],
    ['data_root = true', '"data_root"'],
    ['cni_path = {}', '"cni_path"'],
    ['cni_netconfpath = 1.5', '"cni_netconfpath"'],
    ['debug = "yes"', '"debug"'],
    ['address = ""', '"address"'],
    ['namespace = ""', '"namespace"'],
    ['data_root = ""', '"data_root"'],
    ['cni_path = ""', '"cni_path"'],
    ['cni_netconfpath = ""', '"cni_netconfpath"'],
    ['address = "/run/a\\nb.sock"', '"/run/a\\nb.sock"'],
    ['data_root = "/var/lib/a\\tb"', '"/var/lib/a\\tb"'],
    ['cni_netconfpath = "/etc/cni\\u0085"', '"/etc/cni\\x85"'],
    ['dns_bind_port = true', '"dns_bind_port"'],
    ['dns_bind_port = 0', '"0"'],
    ['dns_bind_port = 65536', '"65536"'],
    ['dns_bind_port = 53.5', '"53.5"'],
    ['dns_bind_port = "53x"', '"53x"'],
    ['dns_bind_port = ""', '"dns_bind_port"'],
  ];
  for (const command of [
    ['ps', '-a'],
    ['network', 'ls'],
  ]) {
    for (const [content, names] of files) {
      rows.push({
        what: `tsnerd.toml ${JSON.stringify(content)}: ${command.join(' ')}`,
        args: command,
        env: { TSNERD_TOML: ctx.toml(content) },
        names,
      });
    }
    rows.push({
      what: `TSNERD_TOML is a directory: ${command.join(' ')}`,
      args: command,
      env: { TSNERD_TOML: ctx.dir },
      names: shown(ctx.dir),
    });
    rows.push({
      what: `TSNERD_TOML names no file: ${command.join(' ')}`,
      args: command,
      env: { TSNERD_TOML: `${ctx.dir}/nosuch.toml` },
      names: shown(`${ctx.dir}/nosuch.toml`),
    });
  }
  return rows;
}

/** What runc could hand the hook on stdin, malformed in each way, for both events. */
function hookStdin(ctx: TableContext): BadInput[] {
  const ns = ctx.namespace;
  const ann = (extra: Record<string, string>) => ({ 'tsnerd/namespace': ns, 'tsnerd/state-dir': ctx.stateDir('abc'), ...extra });
  const states: Array<[string, string]> = [
    ['', 'not valid JSON'],
    ['{', 'not valid JSON'],
    ['{"id": "abc",}', 'not valid JSON'],
    ['nul\u0000', 'not valid JSON'],
    ['[]', 'not a JSON object'],
    ['"abc"', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['42', 'not a JSON object'],
    ['{}', 'container id "undefined"'],
    ['{"id": ""}', 'container id ""'],
    ['{"id": 5}', 'container id "5"'],
    ['{"id": "../../etc"}', 'container id "../../etc"'],
    ['{"id": "a/b"}', 'container id "a/b"'],
    ['{"id": "a\\nb"}', 'container id "a\\nb"'],
    [`{"id": "${'x'.repeat(77)}"}`, `"${'x'.repeat(77)}"`],
    ['{"id": "abc", "pid": -1}', 'pid "-1"'],
    ['{"id": "abc", "pid": 1.5}', 'pid "1.5"'],
    ['{"id": "abc", "pid": "1"}', 'pid "1"'],
    ['{"id": "abc", "pid": null}', 'pid "null"'],
    ['{"id": "abc", "pid": 1, "annotations": []}', 'annotations'],
    ['{"id": "abc", "pid": 1, "annotations": "x"}', 'annotations'],
    ['{"id": "abc", "pid": 1, "annotations": {"tsnerd/namespace": 5}}', 'annotations'],
    ['{"id": "abc", "pid": 1, "annotations": {}}', 'tsnerd/namespace'],
    [JSON.stringify({ id: 'abc', pid: 1, annotations: { 'tsnerd/namespace': ns } }), 'tsnerd/state-dir'],
    [JSON.stringify({ id: 'abc', pid: 1, annotations: ann({ 'tsnerd/namespace': 'a/b' }) }), 'namespace "a/b"'],
    [JSON.stringify({ id: 'abc', pid: 1, annotations: ann({ 'tsnerd/state-dir': '/etc' }) }), '"/etc"'],
    [JSON.stringify({ id: 'abc', pid: 1, annotations: ann({ 'tsnerd/state-dir': 'relative/dir' }) }), '"relative/dir"'],
    [JSON.stringify({ id: 'abc', pid: 1, annotations: ann({ 'tsnerd/state-dir': `${ctx.stateDir('abc')}/../other` }) }), '/../other"'],
    [JSON.stringify({ id: 'abc', pid: 1, annotations: ann({}) }), 'no state dir for container "abc"'],
  ];
  const rows: BadInput[] = [];
  for (const event of ['createRuntime', 'postStop']) {
    for (const [stdin, names] of states) {
      rows.push({
        what: `oci-hook ${event} <<< ${JSON.stringify(stdin).slice(0, 80)}`,
        args: ['internal', 'oci-hook', event, ...ctx.hookArgs],
        stdin,
        names,
      });
    }
  }
  rows.push({ what: 'oci-hook bogus event', args: ['internal', 'oci-hook', 'bogus', ...ctx.hookArgs], stdin: '{}', names: '"bogus"' });
  rows.push({
    what: 'oci-hook unknown argument',
    args: ['internal', 'oci-hook', 'createRuntime', '--bogus', 'x'],
    stdin: '{}',
    names: '"--bogus"',
  });
  rows.push({
    what: 'oci-hook flag without value',
    args: ['internal', 'oci-hook', 'createRuntime', '--address'],
    stdin: '{}',
    names: '--address',
  });
  rows.push({
    what: 'oci-hook empty --namespace',
    args: ['internal', 'oci-hook', 'createRuntime', ...ctx.hookArgs, '--namespace', ''],
    stdin: '{}',
    names: '--namespace',
  });
  return rows;
}

/** Hand-written conflists in the conf dir that no network can be made of, named by `--net`. */
function conflists(ctx: TableContext): BadInput[] {
  const files: Array<[string, string]> = [
    ['garbage', '{garbage'],
    ['empty', ''],
    ['array', '[]'],
    ['string', '"net"'],
    ['no-plugins', '{"cniVersion":"1.0.0","name":"NAME"}'],
    ['empty-plugins', '{"cniVersion":"1.0.0","name":"NAME","plugins":[]}'],
    ['plugins-object', '{"cniVersion":"1.0.0","name":"NAME","plugins":{"type":"bridge"}}'],
    ['no-type', '{"cniVersion":"1.0.0","name":"NAME","plugins":[{"bridge":"x"}]}'],
    ['type-path', '{"cniVersion":"1.0.0","name":"NAME","plugins":[{"type":"../../bin/sh"}]}'],
    ['type-number', '{"cniVersion":"1.0.0","name":"NAME","plugins":[{"type":5}]}'],
    ['bad-name', '{"cniVersion":"1.0.0","name":"NAME/../x","plugins":[{"type":"bridge"}]}'],
    ['name-number', '{"cniVersion":"1.0.0","name":5,"plugins":[{"type":"bridge"}]}'],
    ['version-number', '{"cniVersion":1,"name":"NAME","plugins":[{"type":"bridge"}]}'],
    ['capabilities', '{"cniVersion":"1.0.0","name":"NAME","plugins":[{"type":"bridge","capabilities":"all"}]}'],
    ['nul', '{"cniVersion":"1.0.0",\u0000}'],
    ['truncated', '{"cniVersion":"1.0.0","name":"NAME","plugins":[{"type":"bri'],
  ];
  const rows: BadInput[] = [];
  for (const [kind, content] of files) {
    const name = `inp-hw-${kind}`;
    ctx.conflist(name, content.replaceAll('NAME', name));
    rows.push({
      what: `run --net ${name} (conflist: ${kind})`,
      args: ['run', '--rm', '--net', name, 'busybox', 'true'],
      names: `"${name}"`,
    });
    rows.push({ what: `create --net ${name} (conflist: ${kind})`, args: ['create', '--net', name, 'busybox', 'true'], names: `"${name}"` });
  }
  return rows;
}

/** A container's network-config.json corrupted, as the createRuntime hook reads it. */
function storeFiles(ctx: TableContext): BadInput[] {
  const files: Array<[string, string]> = [
    ['garbage', '{garbage'],
    ['empty', ''],
    ['array', '[]'],
    ['null', 'null'],
    ['mappings-number', '{"portMappings":5}'],
    ['mappings-strings', '{"portMappings":["80"]}'],
    ['truncated', '{"portMappings":[{"HostPort":39310,'],
  ];
  const rows: BadInput[] = [];
  for (const [i, [kind, content]] of files.entries()) {
    const id = `inpstore${i}`;
    ctx.storeFile(id, content);
    const stdin = JSON.stringify({
      ociVersion: '1.0.2',
      id,
      pid: ctx.pid,
      annotations: {
        'tsnerd/namespace': ctx.namespace,
        'tsnerd/state-dir': ctx.stateDir(id),
        'tsnerd/networks': JSON.stringify([ctx.network]),
      },
    });
    rows.push({
      what: `oci-hook createRuntime with a ${kind} network-config.json`,
      args: ['internal', 'oci-hook', 'createRuntime', ...ctx.hookArgs],
      stdin,
      names: 'network-config.json"',
    });
  }
  return rows;
}
