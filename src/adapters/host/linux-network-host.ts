/** Host facts and effects for network management: interfaces, plugins, links, templates. */
import { readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { TsnerdError, isTsnerdError } from '../../domain/errors.ts';
import type { Cidr } from '../../domain/network/cidr.ts';
import { type ConflistTemplates, ConflistTemplatesSchema } from '../../domain/network/conflist-schema.ts';
import type { NetworkHost } from '../../interfaces/network-host.ts';
import { findPlugin, splitCniPath } from '../cni/find-plugin.ts';
import { runProcess } from './run-process.ts';
import { removeIdleHostLocalDir } from './linux-cni-host-state.ts';
import { removeBridgeRules } from '../netfilter/isolation-rules.ts';

const TEMPLATES_DIR = new URL('../../../templates/', import.meta.url);

export class LinuxNetworkHost implements NetworkHost {
  private readonly cniPath: string;

  constructor(cniPath: string) {
    this.cniPath = cniPath;
  }

  async interfaceSubnets(exceptLinks: readonly string[] = []): Promise<Cidr[]> {
    const { parseCidr } = await import('../../domain/network/cidr.ts'); // only network creation needs ip-num
    return Object.entries(networkInterfaces())
      .filter(([name]) => !exceptLinks.includes(name))
      .flatMap(([, addrs]) => addrs ?? [])
      .flatMap((a) => (a.cidr ? (parseCidr(a.cidr) ?? []) : []));
  }

  /** systemd's /etc/machine-id, else D-Bus's copy, else the host name (a container image without either). */
  async machineId(): Promise<string> {
    for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      const id = (await readFile(path, 'utf8').catch(() => '')).trim();
      if (id !== '') return id;
    }
    return hostname();
  }

  async missingPlugins(types: readonly string[]): Promise<string[]> {
    const dirs = splitCniPath(this.cniPath);
    const missing: string[] = [];
    for (const type of types) {
      try {
        await findPlugin(type, dirs);
      } catch (err) {
        if (!isTsnerdError(err, 'precondition')) throw err;
        missing.push(type);
      }
    }
    return missing;
  }

  async pluginAbout(type: string): Promise<string> {
    try {
      const path = await findPlugin(type, splitCniPath(this.cniPath));
      const r = await runProcess(path, [], { env: { CNI_COMMAND: '' }, extendEnv: false, timeoutMs: 5000 });
      return `${r.stdout}\n${r.stderr}`;
    } catch {
      return '';
    }
  }

  async deleteLink(name: string): Promise<void> {
    const shown = await runProcess('ip', ['link', 'show', 'dev', name]);
    if (shown.exitCode !== 0) return;
    const del = await runProcess('ip', ['link', 'del', 'dev', name]);
    if (del.exitCode !== 0)
      throw new TsnerdError('internal', `cannot delete link "${name}": ${del.stderr.trim() || `ip exited with ${del.exitCode}`}`);
  }

  removeBridgeRules(bridge: string): Promise<void> {
    return removeBridgeRules(bridge);
  }

  removeHostLocalDir(network: string, dataDir: string | undefined): Promise<void> {
    return removeIdleHostLocalDir(network, dataDir);
  }

  async templates(): Promise<ConflistTemplates> {
    const read = async (file: string): Promise<unknown> => JSON.parse(await readFile(new URL(file, TEMPLATES_DIR), 'utf8'));
    return ConflistTemplatesSchema.parse({
      bridge: await read('bridge.conflist.json'),
      macvlan: await read('macvlan.conflist.json'),
      ipvlan: await read('ipvlan.conflist.json'),
      dhcpIpam: await read('dhcp.ipam.json'),
    });
  }
}
