/** "80" or "8000-8010" (docker go-connections nat.ParsePortRange, with port 0 refused). */
import type { PortRange } from './port-mapping.ts';

const PORT = /^\d{1,5}$/;

/** The range, or undefined when the text is not one or two ports in 1-65535 in order. */
export function parsePortRange(text: string): PortRange | undefined {
  const parts = text.split('-');
  if (parts.length > 2) return undefined;
  const [start, end] = parts.map((p) => (PORT.test(p) ? Number(p) : NaN));
  const range = { start: start!, end: end ?? start! };
  const valid = [range.start, range.end].every((p) => p >= 1 && p <= 65535);
  return valid && range.start <= range.end ? range : undefined;
}
