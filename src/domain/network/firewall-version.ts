/**
 * The firewall plugin learnt `ingressPolicy: "isolated"` (what `-o icc=false`
 * needs) in v1.7.1; older plugins reject the network at the first container.
 */
const VERSION = /firewall plugin v(\d+)\.(\d+)\.(\d+)/;

/** From what the plugin prints when run without CNI_COMMAND ("CNI firewall plugin v1.7.1 ..."). */
export function supportsIsolatedIngress(about: string): boolean {
  const m = VERSION.exec(about);
  if (!m) return false;
  const [major, minor, patch] = m.slice(1).map(Number) as [number, number, number];
  return major > 1 || (major === 1 && (minor > 7 || (minor === 7 && patch >= 1)));
}
