/**
 * flannel's keys in etcd through the etcd v3 API (npm `etcd3` on @grpc/grpc-js):
 * transactions for create-if-absent, etcd leases for the subnet TTL, and a
 * watch on the subnets prefix (no polling).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3, type IKeyValue, type IOptions, type Lease } from 'etcd3';
import { TsnerdError, unavailable } from '../../domain/errors.ts';
import { configKey, subnetsPrefix } from '../../domain/overlay/flannel.ts';
import type { OverlayRef } from '../../domain/overlay/overlay-network.ts';
import type { ConnectOptions, EtcdLease, FlannelStore, KeyValue, OverlayNameStore } from '../../interfaces/overlay.ts';

const CALL_TIMEOUT_MS = 5_000;
const RETRY_DELAY_MS = 500;

type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Watch reconnection: 200 ms doubling up to 2 s (the library's default waits up to 30 s after an outage). */
function watchBackoff(duration: number): Backoff {
  return { duration, next: () => watchBackoff(Math.min(duration * 2, 2_000)) };
}

function newClient(ref: OverlayRef): Etcd3 {
  return new Etcd3({
    hosts: ref.etcdEndpoints,
    faultHandling: { watchBackoff: watchBackoff(200) },
    dialTimeout: CALL_TIMEOUT_MS,
    // Streams (watch, keepalive) live long; unary calls get a deadline so an outage is reported, not waited out.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
  });
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // grpc-js: "14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.1:2379. ..."
  const last = /Last error: (?:Error: )?([^.]*)/.exec(text)?.[1];
  return (last ?? text).trim();
}

/** Connects and reads once; retries an unreachable etcd until `waitMs` passed. */
export async function connectFlannelStore(ref: OverlayRef, opts: ConnectOptions): Promise<FlannelStore> {
  const client = newClient(ref);
  const deadline = Date.now() + opts.waitMs;
  for (;;) {
    try {
      await client.get(configKey(ref.etcdPrefix)).string();
      return new EtcdFlannelStore(client, ref.etcdPrefix);
    } catch (err) {
      if (Date.now() + RETRY_DELAY_MS > deadline) {
        client.close();
        throw unavailable(`etcd at ${ref.etcdEndpoints.join(',')} is unreachable: ${reason(err)}`, { cause: err });
      }
      await sleep(RETRY_DELAY_MS);
    }
  }
}

/** The client without the initial probe: for the agent, which rides out outages itself. */
export function openFlannelStore(ref: OverlayRef): FlannelStore {
  return new EtcdFlannelStore(newClient(ref), ref.etcdPrefix);
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TsnerdError) throw err;
    throw unavailable(`etcd ${what} failed: ${reason(err)}`, { cause: err });
  }
}

/** An etcd lease's handle: one keepalive at a time, false once etcd no longer knows it. */
function leaseHandle(id: string, lease: Lease): EtcdLease {
  return {
    id,
    keepAlive: async () => {
      try {
        await withTimeout(lease.keepaliveOnce(), CALL_TIMEOUT_MS);
        return true;
      } catch (err) {
        if ((err as Error).name === 'EtcdLeaseInvalidError') return false;
        throw unavailable(`etcd lease renewal failed: ${reason(err)}`, { cause: err });
      }
    },
  };
}

class EtcdFlannelStore implements FlannelStore {
  private readonly client: Etcd3;
  private readonly prefix: string;
  readonly names: OverlayNameStore;

  constructor(client: Etcd3, prefix: string) {
    this.client = client;
    this.prefix = prefix;
    this.names = new EtcdNameStore(client);
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return call(what, fn);
  }

  async readConfig(): Promise<string | undefined> {
    return (await this.call('read', () => this.client.get(configKey(this.prefix)).string())) ?? undefined;
  }

  async createConfig(value: string): Promise<boolean> {
    const key = configKey(this.prefix);
    const r = await this.call('write', () => this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).commit());
    return r.succeeded;
  }

  async deleteConfig(opts: { ifValue?: string } = {}): Promise<void> {
    const key = configKey(this.prefix);
    if (opts.ifValue === undefined) {
      await this.call('delete', () => this.client.delete().key(key).exec());
      return;
    }
    const value = opts.ifValue;
    await this.call('delete', () => this.client.if(key, 'Value', '==', value).then(this.client.delete().key(key)).commit());
  }

  async listLeases(): Promise<KeyValue[]> {
    const all = await this.call('read', () => this.client.getAll().prefix(subnetsPrefix(this.prefix)).strings());
    return Object.entries(all).map(([key, value]) => ({ key, value }));
  }

  private async current(key: string): Promise<IKeyValue | undefined> {
    const r = await this.call('read', () => this.client.get(key).exec());
    return r.kvs[0];
  }

  async putLease(
    key: string,
    value: string,
    ttlSeconds: number,
    allow: (current: string | undefined) => boolean,
  ): Promise<EtcdLease | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = await this.current(key);
      const currentValue = kv?.value.toString();
      if (!allow(currentValue)) return undefined;
      const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
      const id = await this.call('lease grant', () => lease.grant());
      const cmp = kv ? this.client.if(key, 'Mod', '==', kv.mod_revision) : this.client.if(key, 'Create', '==', 0);
      const r = await this.call('write', () => cmp.then(this.client.put(key).value(value).lease(id)).commit());
      if (r.succeeded) return leaseHandle(id, lease);
      await this.revoke(id).catch(() => undefined);
    }
    return undefined;
  }

  async deleteLease(key: string, allow: (current: string) => boolean): Promise<boolean> {
    const kv = await this.current(key);
    if (!kv || !allow(kv.value.toString())) return false;
    const r = await this.call('delete', () =>
      this.client.if(key, 'Mod', '==', kv.mod_revision).then(this.client.delete().key(key)).commit(),
    );
    return r.succeeded;
  }

  async revoke(leaseId: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: leaseId }, { deadline: Date.now() + CALL_TIMEOUT_MS });
    } catch (err) {
      if (/not found/i.test(String((err as Error).message))) return;
      throw unavailable(`etcd lease revoke failed: ${reason(err)}`, { cause: err });
    }
  }

  async watchLeases(onChange: (why: string) => void): Promise<{ cancel(): Promise<void> }> {
    return watchPrefix(this.client, subnetsPrefix(this.prefix), onChange);
  }

  close(): void {
    this.client.close();
  }
}

/** tsnerd's DNS records under the overlay's prefix (domain/overlay/names.ts), on the flannel store's client. */
class EtcdNameStore implements OverlayNameStore {
  private readonly client: Etcd3;

  constructor(client: Etcd3) {
    this.client = client;
  }

  async grant(ttlSeconds: number): Promise<EtcdLease> {
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
    const id = await call('lease grant', () => lease.grant());
    return leaseHandle(id, lease);
  }

  async list(prefix: string): Promise<KeyValue[]> {
    const all = await call('read', () => this.client.getAll().prefix(prefix).strings());
    return Object.entries(all).map(([key, value]) => ({ key, value }));
  }

  async put(key: string, value: string, leaseId: string): Promise<boolean> {
    try {
      await this.client.put(key).value(value).lease(leaseId).exec();
      return true;
    } catch (err) {
      if ((err as Error).name === 'EtcdLeaseInvalidError') return false;
      throw unavailable(`etcd write failed: ${reason(err)}`, { cause: err });
    }
  }

  async delete(key: string): Promise<void> {
    await call('delete', () => this.client.delete().key(key).exec());
  }

  async deletePrefix(prefix: string): Promise<void> {
    await call('delete', () => this.client.delete().prefix(prefix).exec());
  }

  async watch(prefix: string, onChange: (why: string) => void): Promise<{ cancel(): Promise<void> }> {
    return watchPrefix(this.client, prefix, onChange);
  }
}

/** Every change under `prefix`, and the watch's own connection events, as one line each. */
async function watchPrefix(client: Etcd3, prefix: string, onChange: (why: string) => void): Promise<{ cancel(): Promise<void> }> {
  const watcher = client.watch().prefix(prefix).watcher();
  watcher.on('put', (kv) => onChange(`put ${kv.key.toString()}`));
  watcher.on('delete', (kv) => onChange(`delete ${kv.key.toString()}`));
  watcher.on('connected', () => onChange('watch connected'));
  watcher.on('disconnected', (err) => onChange(`watch disconnected: ${reason(err)}`));
  watcher.on('error', (err) => onChange(`watch error: ${reason(err)}`));
  return { cancel: () => watcher.cancel() };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, sleep(ms, undefined, { ref: false }).then(() => Promise.reject(new Error(`no answer within ${ms / 1000}s`)))]);
}
