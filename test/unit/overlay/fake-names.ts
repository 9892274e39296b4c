/** etcd's side of the overlay names as a map with leases and a watch (tests of the agent's names loop and network rm). */
import type { EtcdLease, KeyValue, OverlayNameStore } from '../../../src/interfaces/overlay.ts';

export class FakeNameStore implements OverlayNameStore {
  kv = new Map<string, { value: string; lease: string }>();
  leases = new Set<string>();
  revoked: string[] = [];
  puts = 0;
  down = false;
  private nextLease = 500;
  private watchers: { prefix: string; on: (why: string) => void }[] = [];

  private check(): void {
    if (this.down) throw new Error('etcd is down');
  }
  async grant(): Promise<EtcdLease> {
    this.check();
    const id = String(this.nextLease++);
    this.leases.add(id);
    return {
      id,
      keepAlive: async () => {
        this.check();
        return this.leases.has(id);
      },
    };
  }
  async list(prefix: string): Promise<KeyValue[]> {
    this.check();
    return [...this.kv].filter(([k]) => k.startsWith(prefix)).map(([key, v]) => ({ key, value: v.value }));
  }
  async put(key: string, value: string, lease: string): Promise<boolean> {
    this.check();
    if (!this.leases.has(lease)) return false;
    this.puts++;
    this.kv.set(key, { value, lease });
    this.emit(`put ${key}`, key);
    return true;
  }
  async delete(key: string): Promise<void> {
    this.check();
    if (this.kv.delete(key)) this.emit(`delete ${key}`, key);
  }
  async deletePrefix(prefix: string): Promise<void> {
    this.check();
    for (const key of [...this.kv.keys()]) if (key.startsWith(prefix)) await this.delete(key);
  }
  async watch(prefix: string, on: (why: string) => void) {
    this.watchers.push({ prefix, on });
    return { cancel: async () => undefined };
  }
  /** What etcd does when a lease ends (expiry or revoke): its keys go. */
  expire(lease: string): void {
    this.leases.delete(lease);
    for (const [key, v] of [...this.kv]) if (v.lease === lease) void this.delete(key);
  }
  async revoke(lease: string): Promise<void> {
    this.revoked.push(lease);
    this.expire(lease);
  }
  /** Another host's record, as its agent would put it. */
  putForeign(key: string, value: string, lease = 'foreign'): void {
    this.leases.add(lease);
    this.kv.set(key, { value, lease });
    this.emit(`put ${key}`, key);
  }
  reconnect(): void {
    for (const w of this.watchers) w.on('watch connected');
  }
  private emit(why: string, key: string): void {
    for (const w of this.watchers) if (key.startsWith(w.prefix)) w.on(why);
  }
}
