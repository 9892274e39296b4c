/**
 * `inspect CTR`: Docker-compatible JSON. NetworkSettings comes from the CNI
 * results the hook recorded, keyed by the real network names.
 */
import { decodeContainerLabels, type DnsLabel } from '../../domain/labels.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, isRunning, networked } from './container-view.ts';
import { dockerPortMap, exposedPorts, exposedPortsConfig, type DockerPortBinding } from '../../domain/publish/index.ts';
import type { NetworkSettings } from '../../domain/network-settings.ts';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
  };
  Image: string;
  Name: string;
  Config: {
    Hostname: string;
    Domainname: string;
    /** Docker's: the image's, --expose's and the published container ports; left out when none. */
    ExposedPorts?: Record<string, Record<string, never>>;
    Env: string[];
    Cmd: string[];
    Entrypoint: string[] | null;
    WorkingDir: string;
    Labels: Record<string, string>;
    Image: string;
  };
  HostConfig: {
    NetworkMode: string;
    AutoRemove: boolean;
    PortBindings: Record<string, DockerPortBinding[]>;
    Dns: string[];
    DnsSearch: string[];
    DnsOptions: string[];
    ExtraHosts: string[];
    UTSMode: string;
  };
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  NetworkSettings: NetworkSettings;
}

export async function inspectContainer(ctx: ContainerContext, ref: string): Promise<ContainerInspect> {
  const view = await findContainerView(ctx, ref);
  const { record, task } = view;
  const process = record.spec.process;
  const [path = '', ...args] = process?.args ?? [];
  const lifecycle = await ctx.stateFiles.readLifecycle(view.stateDir).catch(() => ({ started_at: undefined }));
  const labels = decodeContainerLabels(record.labels);
  const { networks } = labels;
  const dns: Partial<DnsLabel> = labels.dns ?? {};
  const portMappings = await ctx.networking.portMappings(view);
  const exposed = exposedPortsConfig(
    [...exposedPorts(labels.exposedPorts), ...portMappings.map((m) => ({ port: m.containerPort, protocol: m.protocol }))].sort(
      (a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port,
    ),
  );
  const status = isRunning(view.task) ? (task!.status === 'running' ? 'running' : 'paused') : task ? 'exited' : 'created';
  return {
    Id: record.id,
    Created: record.createdAt.toISOString(),
    Path: path,
    Args: args,
    State: {
      Status: status,
      Running: status === 'running',
      Paused: status === 'paused',
      Pid: isRunning(task) ? task!.pid : 0,
      ExitCode: task?.status === 'stopped' ? task.exitStatus : 0,
      StartedAt: lifecycle.started_at ?? ZERO_TIME,
      FinishedAt: task?.exitedAt?.toISOString() ?? ZERO_TIME,
    },
    Image: record.image,
    Name: view.name ?? '',
    Config: {
      Hostname: record.spec.hostname ?? labels.hostname ?? '',
      Domainname: record.spec.domainname ?? labels.domainname ?? '',
      ...(Object.keys(exposed).length === 0 ? {} : { ExposedPorts: exposed }),
      Env: process?.env ?? [],
      Cmd: process?.args ?? [],
      Entrypoint: null,
      WorkingDir: process?.cwd ?? '',
      Labels: record.labels,
      Image: record.image,
    },
    HostConfig: {
      NetworkMode: networks[0] ?? '',
      AutoRemove: labels.autoRemove,
      PortBindings: dockerPortMap(portMappings),
      Dns: dns.DNSServers ?? [],
      DnsSearch: dns.DNSSearchDomains ?? [],
      DnsOptions: dns.DNSResolvConfOptions ?? [],
      ExtraHosts: labels.extraHosts,
      UTSMode: record.spec.linux.namespaces.some((n) => n.type === 'uts') ? '' : 'host',
    },
    ...ctx.networking.paths(networked(view)),
    NetworkSettings: await ctx.networking.settings(networked(view), status === 'running'),
  };
}
