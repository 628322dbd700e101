/**
 * A retry budget per subgraph: retries may add at most `ratio` of the requests seen in the last
 * ten seconds, plus `minPerSecond`, so a failing cluster is not hammered by retry storms.
 */
const WINDOW_MS = 10_000;
const BUCKET_MS = 1000;

export class RetryBudget {
  private readonly requests = new Array<number>(WINDOW_MS / BUCKET_MS).fill(0);
  private readonly retries = new Array<number>(WINDOW_MS / BUCKET_MS).fill(0);
  private bucketStart = 0;
  private index = 0;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
  ) {}

  private rotate(now: number): void {
    if (this.bucketStart === 0) this.bucketStart = now;
    while (now - this.bucketStart >= BUCKET_MS) {
      this.bucketStart += BUCKET_MS;
      this.index = (this.index + 1) % this.requests.length;
      this.requests[this.index] = 0;
      this.retries[this.index] = 0;
      // A long idle gap: everything in the window is stale.
      if (now - this.bucketStart > WINDOW_MS) this.bucketStart = now;
    }
  }

  recordRequest(now = Date.now()): void {
    this.rotate(now);
    this.requests[this.index]! += 1;
  }

  /** Take one retry from the budget; false when it is spent. */
  tryRetry(now = Date.now()): boolean {
    this.rotate(now);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const allowed = this.ratio * sum(this.requests) + this.minPerSecond * (WINDOW_MS / 1000);
    if (sum(this.retries) + 1 > allowed) return false;
    this.retries[this.index]! += 1;
    return true;
  }
}
