import { createEndpointBreaker } from '../src/upstream/breaker';
import { RetryBudget } from '../src/upstream/retry-budget';

class Failure extends Error {}
const fail = () => Promise.reject(new Failure('down'));
const succeed = () => Promise.resolve('ok');

describe('an endpoint breaker', () => {
  afterEach(() => jest.useRealTimers());

  it('opens only when the failures fall within the window', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const breaker = createEndpointBreaker({ failureThreshold: 3, windowMs: 1000, halfOpenAfterMs: 500, successesToClose: 2 }, (e) => e instanceof Failure);
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    jest.setSystemTime(1_000_000 + 1500); // the first two fall out of the window
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    expect(breaker.state()).toBe('closed');
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    await expect(breaker.execute(fail)).rejects.toThrow('down');
    expect(breaker.state()).toBe('open');
    expect(breaker.admits()).toBe(false);
  });

  it('ignores errors that do not count against it', async () => {
    const breaker = createEndpointBreaker({ failureThreshold: 1, windowMs: 1000, halfOpenAfterMs: 500, successesToClose: 1 }, (e) => e instanceof Failure);
    await expect(breaker.execute(() => Promise.reject(new Error('429')))).rejects.toThrow('429');
    expect(breaker.state()).toBe('closed');
  });

  it('needs the configured consecutive successes to close, and reports each change once', async () => {
    jest.useFakeTimers({ now: 5_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const breaker = createEndpointBreaker({ failureThreshold: 1, windowMs: 1000, halfOpenAfterMs: 500, successesToClose: 3 }, (e) => e instanceof Failure);
    const changes: string[] = [];
    breaker.onChange((state) => changes.push(state));
    await expect(breaker.execute(fail)).rejects.toThrow();
    jest.setSystemTime(5_000_000 + 600);
    expect(breaker.admits()).toBe(true);
    await breaker.execute(succeed);
    expect(breaker.state()).toBe('half-open');
    await breaker.execute(succeed);
    expect(breaker.state()).toBe('half-open');
    await breaker.execute(succeed);
    await Promise.resolve();
    expect(breaker.state()).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });
});

describe('the retry budget', () => {
  it('allows retries up to the ratio of recent requests, then refuses until the window moves on', () => {
    const budget = new RetryBudget(0.2, 0);
    const t0 = 10_000_000;
    for (let i = 0; i < 10; i++) budget.recordRequest(t0);
    expect(budget.tryRetry(t0)).toBe(true);
    expect(budget.tryRetry(t0)).toBe(true);
    expect(budget.tryRetry(t0)).toBe(false);
    // Ten seconds later the old requests and retries have left the window.
    for (let i = 0; i < 5; i++) budget.recordRequest(t0 + 11_000);
    expect(budget.tryRetry(t0 + 11_000)).toBe(true);
    expect(budget.tryRetry(t0 + 11_000)).toBe(false);
  });

  it('keeps a floor of retries per second for a quiet gateway', () => {
    const budget = new RetryBudget(0.2, 1);
    const t0 = 20_000_000;
    budget.recordRequest(t0);
    let granted = 0;
    while (budget.tryRetry(t0)) granted += 1;
    expect(granted).toBe(10); // 1 per second over the 10 s window (+0.2 rounds down)
  });
});
