import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { formatTable } from '../cli/table.ts';
import { renderListFormat } from '../cli/go-template.ts';
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
      else if (flags.format && flags.format !== 'table') renderListFormat(flags.format, rows, IMAGES_HEADERS).forEach((l) => this.out(l));
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

/** Column titles of `images --format 'table …'` (docker/cli's). */
const IMAGES_HEADERS: Readonly<Record<keyof ReturnType<typeof dockerFields>, string>> = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  ID: 'IMAGE ID',
  Digest: 'DIGEST',
  Name: 'NAME',
  CreatedAt: 'CREATED AT',
  CreatedSince: 'CREATED',
  Size: 'SIZE',
};

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
