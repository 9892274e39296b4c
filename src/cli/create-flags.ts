/** Flags shared by `run` and `create`; their meaning is in create-input.ts. */
import { Flags } from '@oclif/core';

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
