import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { createNetwork } from '../../app/networks/create-network.ts';
import { createNetworkDeps } from '../../wiring/networks.ts';
import { boolFlagValues } from '../../cli/command-argv.ts';

export default class NetworkCreate extends BaseCommand {
  static override summary = 'Create a network';
  static override description = 'Prints the new network\'s ID. Isolating bridge networks needs the CNI "firewall" plugin (>= 1.1.0).';
  static override examples = [
    '<%= config.bin %> network create mynet',
    '<%= config.bin %> network create --subnet 10.5.0.0/16 --gateway 10.5.0.1 --ip-range 10.5.1.0/24 mynet',
    '<%= config.bin %> network create -d macvlan -o parent=eth0 --subnet 192.168.5.0/24 lan',
    '<%= config.bin %> network create -d overlay --etcd-endpoints http://10.0.0.1:2379 --subnet 10.5.0.0/16 fabric',
  ];

  static override args = { network: Args.string({ required: true, description: 'network name' }) };

  static override flags = {
    driver: Flags.string({ char: 'd', default: 'bridge', summary: 'driver: bridge, macvlan, ipvlan or overlay' }),
    opt: Flags.string({
      char: 'o',
      multiple: true,
      multipleNonGreedy: true,
      summary: 'driver option: mtu, ip-masq, icc (bridge); parent, mode, mtu (macvlan/ipvlan); etcd-prefix, public-ip, mtu (overlay)',
    }),
    'etcd-endpoints': Flags.string({ summary: 'overlay: etcd endpoints holding the flannel network, URL[,URL]' }),
    'subnet-len': Flags.integer({ summary: "overlay: prefix length of each host's subnet (flannel SubnetLen; default 24)" }),
    vni: Flags.integer({ summary: 'overlay: VXLAN network identifier (default 1)' }),
    port: Flags.integer({ summary: 'overlay: VXLAN UDP port (default 8472)' }),
    'etcd-timeout': Flags.integer({ summary: 'overlay: seconds to keep trying an unreachable etcd (default 10)' }),
    'ipam-driver': Flags.string({ default: 'default', summary: 'IPAM driver: default, host-local or dhcp' }),
    subnet: Flags.string({ multiple: true, multipleNonGreedy: true, summary: 'subnet in CIDR form, e.g. 10.5.0.0/16' }),
    gateway: Flags.string({ multiple: true, multipleNonGreedy: true, summary: 'gateway of the subnet that contains it' }),
    'ip-range': Flags.string({ multiple: true, multipleNonGreedy: true, summary: 'allocate container IPs from this CIDR inside a subnet' }),
    label: Flags.string({ multiple: true, multipleNonGreedy: true, summary: 'network label key=value' }),
    ipv6: Flags.boolean({
      default: false,
      allowNo: true,
      summary: 'enable IPv6 (without an IPv6 --subnet: an automatic unique local /64)',
    }),
    ipv4: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'enable IPv4 (--ipv4=false or --no-ipv4 with --ipv6: an IPv6-only network)',
    }),
    'aux-address': Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      summary: 'an address the network must never give a container: name=IP',
    }),
    'ipam-opt': Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      summary: 'dhcp IPAM option: option=JSON ({"type":"provide","value":...} or {"type":"request"})',
    }),
    internal: Flags.boolean({ default: false, allowNo: true, summary: 'no route out of the network, no masquerading, no port publishing' }),
    'disable-dns': Flags.boolean({
      default: false,
      summary: "no embedded DNS resolver on this network (containers get the host's servers)",
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NetworkCreate, boolFlagValues(this.argv, ['ipv4', 'ipv6', 'internal']));
    const id = await createNetwork(createNetworkDeps(this.settingsFrom(flags)), {
      name: args.network,
      driver: flags.driver,
      options: flags.opt,
      ipamDriver: flags['ipam-driver'],
      subnets: flags.subnet,
      gateways: flags.gateway,
      ipRanges: flags['ip-range'],
      labels: [...new Set(flags.label ?? [])],
      ipv6: flags.ipv6,
      ipv4: flags.ipv4,
      auxAddresses: flags['aux-address'],
      ipamOptions: flags['ipam-opt'],
      internal: flags.internal,
      etcdEndpoints: flags['etcd-endpoints'],
      subnetLen: flags['subnet-len'],
      vni: flags.vni,
      port: flags.port,
      etcdWaitMs: flags['etcd-timeout'] === undefined ? undefined : flags['etcd-timeout'] * 1000,
      disableDns: flags['disable-dns'],
    });
    this.out(id);
  }
}
