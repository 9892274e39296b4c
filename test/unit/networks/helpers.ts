import { readFileSync } from 'node:fs';
import { type Cidr, parseCidr } from '../../../src/domain/network/cidr.ts';
import { type ConflistTemplates, ConflistTemplatesSchema } from '../../../src/domain/network/conflist-schema.ts';

const repo = new URL('../../..', import.meta.url);
const json = (path: string): unknown => JSON.parse(readFileSync(new URL(path, repo), 'utf8'));

/** The real skeletons from templates/. */
export function templates(): ConflistTemplates {
  return ConflistTemplatesSchema.parse({
    bridge: json('templates/bridge.conflist.json'),
    macvlan: json('templates/macvlan.conflist.json'),
    ipvlan: json('templates/ipvlan.conflist.json'),
    dhcpIpam: json('templates/dhcp.ipam.json'),
  });
}

export function fixture(name: string): string {
  return readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
}

export function cidrs(...texts: string[]): Cidr[] {
  return texts.map((t) => parseCidr(t)!);
}
