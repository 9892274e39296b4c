/** Entry of the OCI hook process (filled in by the networks work). */
export async function runHookMain(args: string[]): Promise<number> {
  process.stderr.write(`tsnerd oci-hook: not implemented (${args.join(' ')})\n`);
  return 1;
}
