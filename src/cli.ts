/**
 * tsnerd's process entry. `tsnerd internal oci-hook <event>` is dispatched
 * before anything heavy is imported: the OCI hook runs on every container start
 * and stop, so it must not pay for oclif or gRPC.
 */
import module from 'node:module';

// Before any dynamic import: later starts load the compiled code from the cache.
module.enableCompileCache?.();

const argv = process.argv.slice(2);

if (argv[0] === 'internal' && argv[1] === 'oci-hook') {
  const { runHookMain } = await import('./hook/main.ts');
  process.exitCode = await runHookMain(argv.slice(2));
} else {
  // `tsnerd ps | head -1`: a reader that has gone away is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const { hoistGlobalFlags } = await import('./cli/argv.ts');
  const args = hoistGlobalFlags(argv);
  const { runFastPath } = await import('./cli/fast-path.ts');
  if (!(await runFastPath(args))) {
    const { execute } = await import('@oclif/core');
    await execute({ dir: import.meta.url, args });
  }
}
