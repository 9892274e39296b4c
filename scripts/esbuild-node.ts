/** What the two bundling steps (scripts/bundle-cli.ts, scripts/bundle-hook.ts) share. */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SRC = join(ROOT, 'src');
export const DIST = join(ROOT, 'dist');

/** ESM for the pinned Node 24, minified but readable enough in a stack trace. */
export const NODE_ESM_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies inside an ESM bundle still call require()
  banner: { js: "import { createRequire as __tsnerdRequire } from 'node:module'; const require = __tsnerdRequire(import.meta.url);" },
};

/**
 * Modules find files next to their compiled selves (reserver/main.js, templates/,
 * protos/, cli.js) with import.meta.url; in a bundle that URL must still point at
 * the module's dist/ location. `urlOf` gets the module's path relative to dist/
 * (with .js) and returns the expression that replaces import.meta.url.
 */
export function keepModuleUrls(urlOf: (fromDist: string) => string): Plugin {
  return {
    name: 'keep-module-urls',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!args.path.startsWith(`${SRC}/`) || !source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
        const fromDist = relative(SRC, args.path).replace(/\.ts$/, '.js');
        return { contents: source.replaceAll('import.meta.url', urlOf(fromDist)), loader: 'ts' };
      });
    },
  };
}
