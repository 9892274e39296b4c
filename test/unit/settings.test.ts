import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addressHash, resolveSettings, settingsToArgs } from '../../src/domain/settings.ts';
import { parseHookArgs } from '../../src/hook/args.ts';
import { isTsnerdError } from '../../src/domain/errors.ts';

const base = { flags: {}, env: {}, file: {}, defaultCniPath: '/usr/lib/cni' };

describe('resolveSettings', () => {
  it('uses nerdctl defaults when nothing is set', () => {
    assert.deepEqual(resolveSettings(base), {
      address: '/run/containerd/containerd.sock',
      namespace: 'default',
      dataRoot: '/var/lib/tsnerd',
      cniPath: '/usr/lib/cni',
      cniNetconfPath: '/etc/cni/net.d',
      debug: false,
    });
  });

  it('prefers flag over env over file over default', () => {
    const s = resolveSettings({
      ...base,
      flags: { namespace: 'fromflag' },
      env: { CONTAINERD_NAMESPACE: 'fromenv', NETCONFPATH: '/env/net.d' },
      file: { namespace: 'fromfile', cni_netconfpath: '/file/net.d', data_root: '/file/root' },
    });
    assert.equal(s.namespace, 'fromflag');
    assert.equal(s.cniNetconfPath, '/env/net.d');
    assert.equal(s.dataRoot, '/file/root');
  });

  it("--bridge-ip: flag, then nerdctl's NERDCTL_BRIDGE_IP, then bridge_ip in the file; unset by default; passed on to the hook", () => {
    assert.equal(resolveSettings(base).bridgeIp, undefined);
    assert.equal(resolveSettings({ ...base, file: { bridge_ip: '10.1.0.1/24' } }).bridgeIp, '10.1.0.1/24');
    assert.equal(
      resolveSettings({ ...base, env: { NERDCTL_BRIDGE_IP: '10.2.0.1/24' }, file: { bridge_ip: '10.1.0.1/24' } }).bridgeIp,
      '10.2.0.1/24',
    );
    const s = resolveSettings({ ...base, flags: { bridgeIp: '10.3.0.1/24' }, env: { NERDCTL_BRIDGE_IP: '10.2.0.1/24' } });
    assert.equal(s.bridgeIp, '10.3.0.1/24');
    assert.deepEqual(settingsToArgs(s).slice(-2), ['--bridge-ip', '10.3.0.1/24']);
    assert.equal(parseHookArgs(['createRuntime', ...settingsToArgs(s)], {}).settings.bridgeIp, '10.3.0.1/24');
    assert.ok(!settingsToArgs(resolveSettings(base)).includes('--bridge-ip'));
    assert.equal(parseHookArgs(['createRuntime', ...settingsToArgs(resolveSettings(base))], {}).settings.bridgeIp, undefined);
  });

  it("--host-gateway-ip: flag, then nerdctl's NERDCTL_HOST_GATEWAY_IP, then host_gateway_ip in the file; unset by default", () => {
    assert.equal(resolveSettings(base).hostGatewayIp, undefined);
    assert.equal(resolveSettings({ ...base, file: { host_gateway_ip: '10.1.0.1' } }).hostGatewayIp, '10.1.0.1');
    assert.equal(
      resolveSettings({ ...base, env: { NERDCTL_HOST_GATEWAY_IP: '10.2.0.1' }, file: { host_gateway_ip: '10.1.0.1' } }).hostGatewayIp,
      '10.2.0.1',
    );
    assert.equal(
      resolveSettings({ ...base, flags: { hostGatewayIp: '10.3.0.1' }, env: { NERDCTL_HOST_GATEWAY_IP: '10.2.0.1' } }).hostGatewayIp,
      '10.3.0.1',
    );
  });

  it("--dns-bind-port: flag, then TSNERD_DNS_BIND_PORT, then Podman's dns_bind_port in the file (an integer or a string); a port or refused", () => {
    assert.equal(resolveSettings(base).dnsBindPort, undefined);
    assert.equal(resolveSettings({ ...base, file: { dns_bind_port: 1153 } }).dnsBindPort, '1153');
    assert.equal(resolveSettings({ ...base, file: { dns_bind_port: '1153' } }).dnsBindPort, '1153');
    assert.equal(resolveSettings({ ...base, env: { TSNERD_DNS_BIND_PORT: '44253' }, file: { dns_bind_port: 1153 } }).dnsBindPort, '44253');
    const s = resolveSettings({ ...base, flags: { dnsBindPort: '053' }, env: { TSNERD_DNS_BIND_PORT: '44253' } });
    assert.equal(s.dnsBindPort, '53');
    assert.deepEqual(settingsToArgs(s).slice(-2), ['--dns-bind-port', '53']);
    assert.equal(parseHookArgs(['createRuntime', ...settingsToArgs(s)], {}).settings.dnsBindPort, '53');
    assert.ok(!settingsToArgs(resolveSettings(base)).includes('--dns-bind-port'));
    assert.throws(() => resolveSettings({ ...base, flags: { dnsBindPort: '0' } }), {
      message: 'invalid --dns-bind-port: "0" is not a port number (1-65535)',
    });
    assert.throws(() => resolveSettings({ ...base, env: { TSNERD_DNS_BIND_PORT: '65536' } }), {
      message: 'invalid environment variable TSNERD_DNS_BIND_PORT: "65536" is not a port number (1-65535)',
    });
    assert.throws(() => resolveSettings({ ...base, file: { dns_bind_port: 1.5 } }), {
      message: 'invalid "dns_bind_port" in the config file: "1.5" is not a port number (1-65535)',
    });
    assert.throws(() => resolveSettings({ ...base, file: { dns_bind_port: true } }), {
      message: 'invalid "dns_bind_port" in the config file: must be a string',
    });
  });

  it("global DNS: nerdctl's dns, dns_search, dns_opts arrays of the file; unset without them", () => {
    assert.equal(resolveSettings(base).globalDns, undefined);
    assert.deepEqual(resolveSettings({ ...base, file: { dns: ['10.10.10.10'], dns_opts: ['ndots:2'] } }).globalDns, {
      servers: ['10.10.10.10'],
      search: [],
      options: ['ndots:2'],
    });
    assert.throws(() => resolveSettings({ ...base, file: { dns_search: 'example.com' } }), {
      message: 'invalid "dns_search" in the config file: must be an array of strings',
    });
  });

  it('strips unix:// from the address', () => {
    assert.equal(resolveSettings({ ...base, env: { CONTAINERD_ADDRESS: 'unix:///x/c.sock' } }).address, '/x/c.sock');
  });
});

describe('resolveSettings refuses', () => {
  const refused: Array<[string, Partial<Parameters<typeof resolveSettings>[0]>, string]> = [
    [
      'an empty CONTAINERD_ADDRESS (nerdctl fails on it too)',
      { env: { CONTAINERD_ADDRESS: '' } },
      'environment variable CONTAINERD_ADDRESS is set but empty',
    ],
    ['an empty --namespace', { flags: { namespace: '' } }, '--namespace is set but empty'],
    ['an empty address in the file', { file: { address: '' } }, '"address" in the config file is set but empty'],
    ['a number where the file needs a string', { file: { data_root: 5 } }, 'invalid "data_root" in the config file: must be a string'],
    ['a string where the file needs a boolean', { file: { debug: 'yes' } }, 'invalid "debug" in the config file: must be true or false'],
    [
      'a namespace containerd refuses',
      { flags: { namespace: 'a/b' } },
      'invalid namespace "a/b": must match ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$ and have at most 76 characters',
    ],
    [
      'a newline in a path',
      { env: { TSNERD_DATA_ROOT: '/tmp/a\nb' } },
      'invalid environment variable TSNERD_DATA_ROOT "/tmp/a\\nb": contains a control character',
    ],
  ];
  for (const [what, input, message] of refused) {
    it(what, () =>
      assert.throws(
        () => resolveSettings({ ...base, ...input }),
        (e) => isTsnerdError(e, 'invalid') && e.message === message,
      ),
    );
  }

  it('but an empty variable is not looked at when the flag is given', () => {
    assert.equal(resolveSettings({ ...base, flags: { address: '/a.sock' }, env: { CONTAINERD_ADDRESS: '' } }).address, '/a.sock');
  });
});

describe('addressHash', () => {
  it('matches nerdctl for the default socket', () => {
    assert.equal(addressHash('/run/containerd/containerd.sock'), '1935db59');
    assert.equal(addressHash('unix:///run/containerd/containerd.sock'), '1935db59');
  });
});
