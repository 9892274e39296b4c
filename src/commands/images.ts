import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { formatTable } from '../cli/table.ts';
import { renderGoTemplate } from '../cli/go-template.ts';
import { listImages, type ImageSummary } from '../app/images/list-images.ts';
import { humanDuration } from '../domain/human-duration.ts';
import { humanSize } from '../domain/human-size.ts';
import { openImages } from '../wiring/images.ts';

const SHORT_ID = 12;

export default class Images extends BaseCommand {
  static override summary = 'List images';
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'only show image IDs' }),
    format: Flags.string({ summary: "'table', 'json' or a Go template such as '{{.Repository}}'" }),
    'no-trunc': Flags.boolean({ summary: "don't truncate image IDs" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Images);
    const handle = await openImages(this.settingsFrom(flags));
    try {
      const now = Date.now();
      const rows = (await listImages(handle.backend)).map((i) => dockerFields(i, now, flags['no-trunc']));
      if (flags.quiet) rows.forEach((r) => this.out(r.ID));
      else if (flags.format === 'json') rows.forEach((r) => this.out(JSON.stringify(r)));
      else if (flags.format && flags.format !== 'table') rows.forEach((r) => this.out(renderGoTemplate(flags.format!, r)));
      else {
        const header = ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
        this.out(
          formatTable(
            header,
            rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size]),
          ),
        );
      }
    } finally {
      handle.close();
    }
  }
}

/** Field names of `docker images --format` / nerdctl. */
function dockerFields(i: ImageSummary, now: number, noTrunc: boolean) {
  const hex = i.id.replace(/^sha256:/, '');
  return {
    Repository: i.repository,
    Tag: i.tag,
    ID: noTrunc ? i.id : hex.slice(0, SHORT_ID),
    Digest: i.id,
    Name: i.name,
    CreatedAt: i.createdAt.toISOString(),
    CreatedSince: `${humanDuration(now - i.createdAt.getTime())} ago`,
    Size: humanSize(i.size),
  };
}
