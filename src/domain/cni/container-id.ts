/** CNI container ID: namespace-qualified, as nerdctl, so namespaces never collide. */
export function cniContainerId(namespace: string, id: string): string {
  return `${namespace}-${id}`;
}
