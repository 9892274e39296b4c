import type * as z from '../zod.ts';

/** One readable line for a zod failure: the first issue with its path. */
export function issueText(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  const path = issue.path.map(String).join('.');
  return path === '' ? issue.message.toLowerCase() : `${path}: ${issue.message.toLowerCase()}`;
}
