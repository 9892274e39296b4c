import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddHosts, validateNetworkFlags, type NetworkFlags } from '../../../src/domain/network-flags.ts';
import { parseLabelFlags } from '../../../src/domain/container-flags.ts';
import { validateContainerName } from '../../../src/domain/container-ref.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const base: NetworkFlags = {
  mode: { kind: 'cni', networks: ['bridge'] },
  dns: [],
  dnsSearch: [],
  dnsOptions: [],
  addHosts: [],
  publish: [],
  publishAll: false,
  expose: [],
};

const refused: Array<[string, Partial<NetworkFlags>, string]> = [
  [
    'a newline in --dns-search',
    { dnsSearch: ['a.com\nnameserver 1.2.3.4'] },
    'invalid --dns-search "a.com\\nnameserver 1.2.3.4": contains a control character',
  ],
  ['a space in --dns-search', { dnsSearch: ['a.com b.com'] }, 'invalid --dns-search "a.com b.com": not a domain name'],
  ['an empty --dns-search', { dnsSearch: [''] }, 'invalid --dns-search "": not a domain name'],
  [
    'a newline in --dns-opt',
    { dnsOptions: ['ndots:1\nnameserver 1.2.3.4'] },
    'invalid --dns-opt "ndots:1\\nnameserver 1.2.3.4": contains a control character',
  ],
  ['a carriage return in --dns-opt', { dnsOptions: ['ndots:1\r'] }, 'invalid --dns-opt "ndots:1\\r": contains a control character'],
  ['a newline in --hostname', { hostname: 'a\nb' }, 'invalid hostname "a\\nb": not a valid DNS name'],
  [
    'a hostname over 64 characters',
    { hostname: `${'h'.repeat(40)}.${'h'.repeat(24)}` },
    `invalid hostname "${'h'.repeat(40)}.${'h'.repeat(24)}": longer than 64 characters`,
  ],
  ['a newline in --domainname', { domainname: 'a\nb' }, 'invalid domainname "a\\nb": not a valid DNS name'],
  [
    'a multicast MAC',
    { macAddress: '01:00:5e:00:00:01' },
    'invalid MAC address "01:00:5e:00:00:01": a multicast or all-zero address cannot be assigned to an interface',
  ],
  [
    'the broadcast MAC',
    { macAddress: 'ff:ff:ff:ff:ff:ff' },
    'invalid MAC address "ff:ff:ff:ff:ff:ff": a multicast or all-zero address cannot be assigned to an interface',
  ],
  [
    'the all-zero MAC',
    { macAddress: '00:00:00:00:00:00' },
    'invalid MAC address "00:00:00:00:00:00": a multicast or all-zero address cannot be assigned to an interface',
  ],
  ['a --dns with a newline', { dns: ['1.2.3.4\n'] }, 'invalid --dns value "1.2.3.4\\n": not an IP address'],
  ['an --ip with a newline', { ip: '10.0.0.2\n' }, 'invalid --ip "10.0.0.2\\n": not an IPv4 address'],
];

describe('validateNetworkFlags', () => {
  for (const [what, flags, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => validateNetworkFlags({ ...base, ...flags }),
        (e) => isTsnerdError(e, 'invalid') && e.message === message,
      );
    });
  }
  it('accepts a unicast MAC, search domains and options', () => {
    validateNetworkFlags({
      ...base,
      macAddress: '02:42:ac:11:00:02',
      dnsSearch: ['example.com', '.'],
      dnsOptions: ['ndots:2'],
      hostname: 'web',
      domainname: 'example.com',
    });
  });
});

describe('values that land in files', () => {
  it('--add-host shows a newline escaped', () => {
    assert.throws(
      () => parseAddHosts(['a:1.2.3.4\n'], undefined),
      (e) => isTsnerdError(e, 'invalid') && e.message === 'invalid --add-host "a:1.2.3.4\\n": "1.2.3.4\\n" is not an IP address',
    );
  });
  it('--add-host NAME:host-gateway takes the host gateway IP (--host-gateway-ip), which must be an IP', () => {
    assert.deepEqual(parseAddHosts(['gw:host-gateway', 'a:1.2.3.4,b:::1'], '192.168.5.2'), ['gw:192.168.5.2', 'a:1.2.3.4', 'b:::1']);
    assert.throws(() => parseAddHosts(['gw:host-gateway'], undefined), { message: 'unable to derive the IP value for host-gateway' });
    assert.throws(() => parseAddHosts(['gw:host-gateway'], 'gw.example'), {
      message: 'invalid --host-gateway-ip "gw.example": not an IP address',
    });
  });
  it('--label refuses control characters and nerdctl/ keys', () => {
    assert.throws(
      () => parseLabelFlags(['a=b\nc']),
      (e) => isTsnerdError(e, 'invalid') && e.message === 'invalid label "a=b\\nc": contains a control character',
    );
    assert.throws(
      () => parseLabelFlags(['nerdctl/networks=[]']),
      (e) => isTsnerdError(e, 'usage') && e.message === 'internal label "nerdctl/networks" must not be specified manually',
    );
  });
  it('--name refuses names longer than a file name can be', () => {
    assert.throws(
      () => validateContainerName('n'.repeat(256)),
      (e) =>
        isTsnerdError(e, 'invalid') &&
        e.message === `invalid container name "${'n'.repeat(60)}…${'n'.repeat(40)}" (256 characters): longer than 255 characters`,
    );
  });
});
