/**
 * tsnerd's process entry. `tsnerd internal oci-hook <event>` is dispatched
 * before anything heavy is imported: the OCI hook runs on every container start
 * and stop, so it must not pay for oclif or gRPC.
 */
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Before any dynamic import: later starts load the compiled code from the cache. The
// cache lives in the installation (node_modules/.cache), owned as the code it caches is:
// node's default, os.tmpdir()/node-compile-cache, is a directory any local user could
// create first and fill with code that root's CLI and hooks would then run.
module.enableCompileCache?.(fileURLToPath(new URL('../node_modules/.cache/tsnerd-v8/', import.meta.url)));

const argv = process.argv.slice(2);

if (argv[0] === 'internal' && argv[1] === 'oci-hook') {
  const { runHookMain } = await import('./hook/main.ts');
  process.exitCode = await runHookMain(argv.slice(2));
} else if (argv[0] === 'internal' && argv[1] === 'cli-server') {
  // The CLI server (cli/cli-server.ts) runs the fast path's code, from the same bundle and its own cache.
  const { loadCachedScript } = await import('./cli/cached-script.ts');
  const fast =
    loadCachedScript<typeof import('./cli/fast-main.ts')>(fileURLToPath(new URL('./cli/fast-main.cjs', import.meta.url)), 'cli-server') ??
    (await import('./cli/fast-main.ts'));
  await fast.serveCli(argv[2]);
} else {
  // `tsnerd ps | head -1`: a reader that has gone away is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  // The built CLI runs the fast path from one script with a code cache made at exit
  // (cli/cached-script.ts); the sources, or a build without it, import the modules.
  const { loadCachedScript } = await import('./cli/cached-script.ts');
  // One cache per command (they run different functions); global flags first share one.
  const variant = argv[0]?.startsWith('-') ? '-' : argv[0] === 'network' ? `network:${argv[1] ?? ''}` : (argv[0] ?? '');
  const fast =
    loadCachedScript<typeof import('./cli/fast-main.ts')>(fileURLToPath(new URL('./cli/fast-main.cjs', import.meta.url)), variant) ??
    (await import('./cli/fast-main.ts'));
  const args = fast.hoistGlobalFlags(argv);
  if (!(await fast.runFastPath(args))) {
    const { execute } = await import('@oclif/core');
    await execute({ dir: import.meta.url, args });
  }
}
