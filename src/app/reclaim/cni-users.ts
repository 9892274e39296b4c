/**
 * CniUsers from the result cache: an attachment is live while its netns is
 * (CniHostState.attachmentAlive), and a user when it is on this host
 * (CniHostState.attachmentHere: hosts simulated on one machine share the cache). `network rm` and `prune` refuse a network
 * with live users and release stale ones first, so removing a network never
 * strands an IP, a rule or a cache entry that nothing could release later.
 */
import { ErrorList } from '../../domain/errors.ts';
import type { CniRuntime } from '../../interfaces/cni.ts';
import type { CniHostState } from '../../interfaces/cni-host-state.ts';
import type { CniUsers } from '../../interfaces/cni-users.ts';
import { releaseCachedAttachment } from '../attach/teardown.ts';
import type { ChainOwner } from '../../domain/netfilter/hash-chains.ts';

export interface CacheUsersDeps {
  cni: CniRuntime;
  hostCni: Pick<CniHostState, 'attachmentAlive' | 'attachmentHere'>;
  removeIpMasqChain(network: string, cniContainerId: string, ips: readonly string[]): Promise<void>;
  removeHashChains(owners: readonly ChainOwner[]): Promise<unknown>;
  withCniLock<T>(fn: () => Promise<T>): Promise<T>;
}

export class CacheCniUsers implements CniUsers {
  private readonly deps: CacheUsersDeps;

  constructor(deps: CacheUsersDeps) {
    this.deps = deps;
  }

  async live(network: string): Promise<string[]> {
    const ids: string[] = [];
    for (const a of await this.deps.cni.getCachedAttachments()) {
      if (a.networkName !== network || !(await this.deps.hostCni.attachmentAlive(a))) continue;
      if (await this.deps.hostCni.attachmentHere(a)) ids.push(a.containerId);
    }
    return [...new Set(ids)];
  }

  async releaseStale(network: string): Promise<string[]> {
    const errors = new ErrorList();
    const released: string[] = [];
    for (const a of await this.deps.cni.getCachedAttachments()) {
      if (a.networkName !== network || (await this.deps.hostCni.attachmentAlive(a))) continue;
      await errors.attempt(async () => {
        await releaseCachedAttachment(this.deps, a);
        released.push(a.containerId);
      });
    }
    errors.throwIfAny();
    return released;
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.deps.withCniLock(fn);
  }
}
