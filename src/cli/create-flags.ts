/** Flags shared by `run` and `create`, and their translation into the use-case input. */
import { Flags } from '@oclif/core';
import type { CreateContainerInput } from '../app/containers/create-container.ts';
import { parseEnvFlags, parseLabelFlags } from '../domain/container-flags.ts';
import { parseNetworkMode } from '../domain/network-mode.ts';

export const createFlags = {
  name: Flags.string({ summary: 'assign a name to the container' }),
  env: Flags.string({ char: 'e', multiple: true, multipleNonGreedy: true, summary: 'set environment variables (KEY=VALUE or KEY)' }),
  workdir: Flags.string({ char: 'w', summary: 'working directory inside the container' }),
  user: Flags.string({ char: 'u', summary: 'user to run as: name|uid[:group|gid]' }),
  entrypoint: Flags.string({ summary: 'overwrite the default ENTRYPOINT of the image' }),
  label: Flags.string({ char: 'l', multiple: true, multipleNonGreedy: true, summary: 'set metadata on the container (KEY=VALUE)' }),
  network: Flags.string({
    aliases: ['net'],
    multiple: true, multipleNonGreedy: true,
    summary: 'connect to a network: bridge, host, none, container:<name|id>, ns:<path>, or a network name',
  }),
  rm: Flags.boolean({ summary: 'remove the container when it exits' }),
  publish: Flags.string({
    char: 'p', multiple: true, multipleNonGreedy: true, helpGroup: 'NETWORK',
    summary: 'publish a container port: [hostIP:][hostPort[-end]:]containerPort[-end][/tcp|udp|sctp]',
  }),
  'publish-all': Flags.boolean({ char: 'P', helpGroup: 'NETWORK', summary: 'publish every exposed port on a random host port' }),
  expose: Flags.string({ multiple: true, multipleNonGreedy: true, helpGroup: 'NETWORK', summary: 'expose a port or range (PORT[-END][/PROTO])' }),
  dns: Flags.string({ multiple: true, multipleNonGreedy: true, helpGroup: 'NETWORK', summary: 'set a DNS server' }),
  'dns-search': Flags.string({ multiple: true, multipleNonGreedy: true, helpGroup: 'NETWORK', summary: 'set a DNS search domain' }),
  'dns-opt': Flags.string({ aliases: ['dns-option'], multiple: true, multipleNonGreedy: true, helpGroup: 'NETWORK', summary: 'set a DNS option' }),
  'add-host': Flags.string({ multiple: true, multipleNonGreedy: true, helpGroup: 'NETWORK', summary: 'add a host:ip line to /etc/hosts (ip may be host-gateway)' }),
  hostname: Flags.string({ char: 'h', helpGroup: 'NETWORK', summary: 'container host name' }),
  domainname: Flags.string({ helpGroup: 'NETWORK', summary: 'container NIS domain name' }),
  'mac-address': Flags.string({ helpGroup: 'NETWORK', summary: 'MAC address of eth0 (bridge and macvlan networks)' }),
  ip: Flags.string({ helpGroup: 'NETWORK', summary: 'IPv4 address of eth0' }),
  ip6: Flags.string({ helpGroup: 'NETWORK', summary: 'IPv6 address of eth0' }),
  uts: Flags.string({ helpGroup: 'NETWORK', summary: 'UTS namespace: "host" to share the host\'s' }),
};

interface CreateFlagValues {
  name?: string | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  entrypoint?: string | undefined;
  label?: string[] | undefined;
  network?: string[] | undefined;
  rm: boolean;
  publish?: string[] | undefined;
  'publish-all': boolean;
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

export function toCreateInput(flags: CreateFlagValues, image: string, args: string[]): CreateContainerInput {
  return {
    image,
    args,
    name: flags.name,
    env: parseEnvFlags(flags.env ?? [], process.env),
    workdir: flags.workdir,
    user: flags.user,
    entrypoint: flags.entrypoint,
    labels: parseLabelFlags(flags.label ?? []),
    network: {
      mode: parseNetworkMode(flags.network ?? []),
      publish: flags.publish ?? [],
      publishAll: flags['publish-all'],
      expose: flags.expose ?? [],
      dns: flags.dns ?? [],
      dnsSearch: flags['dns-search'] ?? [],
      dnsOptions: flags['dns-opt'] ?? [],
      addHosts: flags['add-host'] ?? [],
      hostname: flags.hostname,
      domainname: flags.domainname,
      macAddress: flags['mac-address'],
      ip: flags.ip,
      ip6: flags.ip6,
      uts: flags.uts,
    },
    autoRemove: flags.rm,
  };
}
