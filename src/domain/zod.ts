/**
 * The one import of zod in src/ (a dependency-cruiser rule keeps it so):
 * zod/mini, ~50 KB in a bundle where classic zod was ~580 KB, with classic
 * zod's English messages, which zod/mini does not install by itself (without
 * them every message would read "Invalid input").
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
