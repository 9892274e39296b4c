/** Public surface of port publishing (domain, pure). */
export * from './port-mapping.ts';
export { parsePublishSpec, parsePublishSpecs } from './parse-publish.ts';
export { resolvePortMappings } from './resolve-port-mappings.ts';
export { assertPublishLimit, MAX_PUBLISHED_PORTS } from './publish-limit.ts';
export { allocateHostPorts } from './allocate-host-ports.ts';
export { assertPortsFree, isPortUsed, portAllocatedError, portUser, usedPortsOf } from './port-conflicts.ts';
export { exposedPorts, exposedPortsConfig, parseExposeSpec, publishAllRequests, type ExposedPort } from './exposed-ports.ts';
export {
  dockerPortMap,
  formatPortLines,
  formatPortsColumn,
  lookupPublicPort,
  parsePortQuery,
  type DockerPortBinding,
  type PortQuery,
} from './format-ports.ts';
export { canonicalIP, hostIPsOverlap, joinHostPort } from './host-ip.ts';
export { fromNerdctlPortMapping, toNerdctlPortMapping, type NerdctlPortMapping } from './stored-port-mapping.ts';
