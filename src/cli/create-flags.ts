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
    network: parseNetworkMode(flags.network ?? []),
    autoRemove: flags.rm,
  };
}
