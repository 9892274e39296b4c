/**
 * What cli.ts runs for every command line but the OCI hook's: the global flags
 * hoisted, then the fast path (run, create, start, rm, network ls/inspect) or
 * oclif. Bundled as one CommonJS script (dist/cli/fast-main.cjs) that cli.ts
 * loads through cached-script.ts; the sources import it as a module.
 */
export { hoistGlobalFlags } from './argv.ts';
export { runFastPath } from './fast-path.ts';
export { serveCli } from './cli-server.ts';
