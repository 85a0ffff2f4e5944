/**
 * Recycles the Float32Arrays that native kernels write into. A fresh large typed array costs
 * page faults on first touch (about 2x on a GEMM), so outputs reuse freed buffers of the same
 * length. A buffer is recycled only while the backend is its sole owner: once user code may hold
 * it (readSync/dataSync hand out the backend's own array) or another tensor aliases it (a cpu
 * kernel's subarray view), it is pinned and left to the garbage collector.
 */
export class BufferPool {
  /** Buffers handed to a kernel but not yet stored in a tensor ('fresh'), or owned by one tensor. */
  private readonly state = new WeakMap<ArrayBuffer, 'fresh' | 'owned'>();
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    /** Cap on the bytes kept in free lists. */
    readonly maxBytes = 256 * 1024 * 1024,
    /** Shorter arrays are cheap to allocate and are not pooled. */
    readonly minLength = 1024,
  ) {}

  acquire(length: number): Float32Array {
    if (length < this.minLength) return new Float32Array(length);
    const list = this.free.get(length);
    let out = list?.pop();
    if (out) {
      this.hits++;
      this.pooledBytes -= out.byteLength;
    } else {
      this.misses++;
      out = new Float32Array(length);
    }
    this.state.set(out.buffer as ArrayBuffer, 'fresh');
    return out;
  }

  /** A tensor is being created over `values`: a fresh whole buffer becomes owned, anything else pins it. */
  adopt(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const buffer = values.buffer as ArrayBuffer;
    const s = this.state.get(buffer);
    if (s === undefined) return;
    const whole = values.byteOffset === 0 && values.byteLength === buffer.byteLength;
    if (s === 'fresh' && whole) this.state.set(buffer, 'owned');
    else this.state.delete(buffer);
  }

  /**
   * A buffer from `acquire` that never backed a tensor (a kernel's scratch space) is free again.
   * Anything else (adopted, pinned, foreign) is left alone.
   */
  recycle(values: Float32Array): void {
    const buffer = values.buffer as ArrayBuffer;
    if (this.state.get(buffer) !== 'fresh') return;
    this.state.set(buffer, 'owned');
    this.release(values);
  }

  /** `values` escapes to code the backend does not control: never recycle it. */
  pin(values: unknown): void {
    if (ArrayBuffer.isView(values)) this.state.delete(values.buffer as ArrayBuffer);
  }

  /** The tensor that owned `values` is gone. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const buffer = values.buffer as ArrayBuffer;
    if (this.state.get(buffer) !== 'owned') return;
    this.state.delete(buffer);
    if (this.pooledBytes + buffer.byteLength > this.maxBytes) return;
    let list = this.free.get(values.length);
    if (!list) {
      list = [];
      this.free.set(values.length, list);
    }
    list.push(values);
    this.pooledBytes += buffer.byteLength;
  }

  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }

  get bytes(): number {
    return this.pooledBytes;
  }
}
