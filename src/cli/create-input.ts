/** What `run` and `create` flags mean for the use case; no oclif here (the fast path loads it, src/cli/fast-path.ts). */
import type { CreateContainerInput } from '../app/containers/create-container.ts';
import { parseEnvFlags, parseLabelFlags } from '../domain/container-flags.ts';
import { parseNetworkMode } from '../domain/network-mode.ts';
import { parseNetworkSpecs } from '../domain/network/endpoint.ts';
import { requestEnv } from '../adapters/host/request-env.ts';
import type { GlobalDns } from '../domain/settings.ts';

export interface CreateFlagValues {
  name?: string | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  entrypoint?: string | undefined;
  label?: string[] | undefined;
  network?: string[] | undefined;
  'network-alias'?: string[] | undefined;
  rm?: boolean | undefined;
  publish?: string[] | undefined;
  'publish-all'?: boolean | undefined;
  expose?: string[] | undefined;
  dns?: string[] | undefined;
  'dns-search'?: string[] | undefined;
  'dns-opt'?: string[] | undefined;
  'add-host'?: string[] | undefined;
  hostname?: string | undefined;
  domainname?: string | undefined;
  'mac-address'?: string | undefined;
  ip?: string | undefined;
  ip6?: string | undefined;
  uts?: string | undefined;
}

/**
 * `globalDns`: the TOML file's `dns`, `dns_search`, `dns_opts` (nerdctl's global settings),
 * each taken when its flag is not given, as if it had been.
 */
export function toCreateInput(flags: CreateFlagValues, image: string, args: string[], globalDns?: GlobalDns): CreateContainerInput {
  const orGlobal = (given: string[] | undefined, global: string[] | undefined) => (given && given.length > 0 ? given : (global ?? []));
  return {
    image,
    args,
    name: flags.name,
    env: parseEnvFlags(flags.env ?? [], requestEnv()),
    workdir: flags.workdir,
    user: flags.user,
    entrypoint: flags.entrypoint,
    labels: parseLabelFlags(flags.label ?? []),
    network: {
      mode: parseNetworkMode(flags.network ?? []),
      networkSpecs: parseNetworkSpecs(flags.network ?? []),
      networkAliases: flags['network-alias'] ?? [],
      publish: flags.publish ?? [],
      publishAll: flags['publish-all'] === true,
      expose: flags.expose ?? [],
      dns: orGlobal(flags.dns, globalDns?.servers),
      dnsSearch: orGlobal(flags['dns-search'], globalDns?.search),
      dnsOptions: orGlobal(flags['dns-opt'], globalDns?.options),
      addHosts: flags['add-host'] ?? [],
      hostname: flags.hostname,
      domainname: flags.domainname,
      macAddress: flags['mac-address'],
      ip: flags.ip,
      ip6: flags.ip6,
      uts: flags.uts,
    },
    autoRemove: flags.rm === true,
  };
}
