import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertMacAddressSupported } from '../../../src/domain/network-flags.ts';

describe('assertMacAddressSupported', () => {
  it('accepts bridge and macvlan networks', () => {
    assertMacAddressSupported('02:42:0a:00:00:01', 'bridge');
    assertMacAddressSupported('02:42:0a:00:00:01', 'macvlan');
  });
  it('refuses ipvlan and other plugins, naming the type', () => {
    assert.throws(() => assertMacAddressSupported('02:42:0a:00:00:01', 'ipvlan'), {
      message: 'network type "ipvlan" is not supported with --mac-address: only bridge and macvlan are',
    });
    assert.throws(() => assertMacAddressSupported('02:42:0a:00:00:01', 'ptp'), /network type "ptp"/);
  });
  it('checks nothing without a MAC', () => {
    assertMacAddressSupported(undefined, 'ipvlan');
    assertMacAddressSupported('', 'ptp');
  });
});
