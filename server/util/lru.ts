// Node-only server utility (no project imports): an in-memory cache bounded by total size.
/** LRU by total size. */
export class Lru<V> {
  private map = new Map<string, { v: V; size: number }>();
  private total = 0;
  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (v: V) => number,
  ) {}
  get(k: string): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    this.map.delete(k);
    this.map.set(k, e);
    return e.v;
  }
  set(k: string, v: V): void {
    const old = this.map.get(k);
    if (old) {
      this.total -= old.size;
      this.map.delete(k);
    }
    const size = this.sizeOf(v);
    this.map.set(k, { v, size });
    this.total += size;
    for (const [key, e] of this.map) {
      if (this.total <= this.maxSize || this.map.size <= 1) break;
      this.map.delete(key);
      this.total -= e.size;
    }
  }
}
