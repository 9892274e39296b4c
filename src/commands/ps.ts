import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { renderListFormat } from '../cli/go-template.ts';
import { formatTable } from '../cli/table.ts';
import { listContainers, type ContainerSummary } from '../app/containers/list-containers.ts';
import { humanDuration } from '../domain/human-duration.ts';
import { shortId } from '../domain/container-ref.ts';
import { openContainers } from '../wiring/containers.ts';

const COMMAND_WIDTH = 20;

export default class Ps extends BaseCommand {
  static override summary = 'List containers';
  // `ps -a` is --all, as in Docker; the global --address keeps its long form here.
  static override baseFlags = {
    ...BaseCommand.baseFlags,
    address: Flags.string({ helpGroup: 'GLOBAL', summary: 'containerd address (env CONTAINERD_ADDRESS)' }),
  };

  static override flags = {
    all: Flags.boolean({ char: 'a', summary: 'show all containers (default shows just running)' }),
    quiet: Flags.boolean({ char: 'q', summary: 'only display container IDs' }),
    format: Flags.string({ summary: "'table', 'json' or a Go template such as '{{.Names}}'" }),
    'no-trunc': Flags.boolean({ summary: "don't truncate output" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ps);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      const list = await listContainers(handle.ctx, { all: flags.all });
      const now = Date.now();
      const docker = list.map((c) => dockerFields(c, now, flags['no-trunc']));
      if (flags.quiet) docker.forEach((c) => this.out(c.ID));
      else if (flags.format && flags.format !== 'table') renderListFormat(flags.format, docker, PS_HEADERS).forEach((l) => this.out(l));
      else {
        const headers = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
        this.out(
          formatTable(
            headers,
            docker.map((c) => [c.ID, c.Image, c.Command, c.RunningFor, c.Status, c.Ports, c.Names]),
          ),
        );
      }
    } finally {
      handle.close();
    }
  }
}

/** Column titles of `ps --format 'table …'` (docker/cli's). */
const PS_HEADERS: Readonly<Record<keyof ReturnType<typeof dockerFields>, string>> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Status: 'STATUS',
  State: 'STATE',
  Ports: 'PORTS',
  Names: 'NAMES',
  Labels: 'LABELS',
};

/** Docker's `ps --format` field names. */
function dockerFields(c: ContainerSummary, now: number, noTrunc: boolean) {
  const command = noTrunc || c.command.length <= COMMAND_WIDTH ? c.command : `${c.command.slice(0, COMMAND_WIDTH - 3)}...`;
  const age = `${humanDuration(now - c.createdAt.getTime())} ago`;
  return {
    ID: noTrunc ? c.id : shortId(c.id),
    Image: c.image,
    Command: JSON.stringify(command),
    CreatedAt: c.createdAt.toISOString(),
    RunningFor: age,
    Status: c.status === 'Up' ? `Up ${humanDuration(now - (c.startedAt ?? c.createdAt).getTime())}` : c.status,
    State: c.state,
    Ports: c.ports,
    Names: c.names,
    Labels: Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}
