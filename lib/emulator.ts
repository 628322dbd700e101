/**
 * The parts every vendor emulator shares: an express app that counts the requests it serves
 * (so tests can assert batching bounds), injects faults on demand (latency, a status code,
 * 429 with Retry-After, dropped connections) and checks the vendor's auth header.
 *
 * Admin endpoints live under /__admin and are neither counted nor subject to faults:
 *   GET    /__admin/requests         → { total, byRoute: { "POST /graphql": 3, ... } }
 *   DELETE /__admin/requests         → reset the counters
 *   POST   /__admin/faults           → { latencyMs?, status?, retryAfterSeconds?, drop?, times?, pathPrefix? }
 *   DELETE /__admin/faults           → clear faults
 */
import express from 'express';
import type { Express, Request, Response, NextFunction } from 'express';

export interface Fault {
  /** Delay before the request is handled. */
  latencyMs?: number;
  /** Answer with this status instead of handling the request. */
  status?: number;
  /** With status 429/503: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
  /** Destroy the socket without answering. */
  drop?: boolean;
  /** How many requests the fault applies to; unlimited when absent. */
  times?: number;
  /** Only requests whose path starts with this. */
  pathPrefix?: string;
}

export interface EmulatorApp {
  app: Express;
  /** Requests served so far, by `METHOD /route`. */
  counts(): { total: number; byRoute: Record<string, number> };
}

export function createEmulatorApp(options: { jsonLimit?: string; urlencoded?: boolean } = {}): EmulatorApp {
  const app = express();
  app.disable('x-powered-by');
  const byRoute = new Map<string, number>();
  let total = 0;
  let faults: Fault[] = [];

  app.use('/__admin', express.json());
  app.get('/__admin/requests', (_req, res) => {
    res.json({ total, byRoute: Object.fromEntries(byRoute) });
  });
  app.delete('/__admin/requests', (_req, res) => {
    byRoute.clear();
    total = 0;
    res.status(204).end();
  });
  app.post('/__admin/faults', (req, res) => {
    faults.push(req.body as Fault);
    res.status(204).end();
  });
  app.delete('/__admin/faults', (_req, res) => {
    faults = [];
    res.status(204).end();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use((req: Request, res: Response, next: NextFunction) => {
    total += 1;
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? req.path;
      const key = `${req.method} ${req.baseUrl}${route}`;
      byRoute.set(key, (byRoute.get(key) ?? 0) + 1);
    });
    const fault = faults.find((f) => !f.pathPrefix || req.path.startsWith(f.pathPrefix));
    if (!fault) return next();
    if (fault.times !== undefined) {
      fault.times -= 1;
      if (fault.times <= 0) faults = faults.filter((f) => f !== fault);
    }
    const apply = () => {
      if (fault.drop) {
        req.socket.destroy();
        return;
      }
      if (fault.status) {
        if (fault.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(fault.retryAfterSeconds));
        res.status(fault.status).json({ message: 'injected fault', status: fault.status });
        return;
      }
      next();
    };
    if (fault.latencyMs) setTimeout(apply, fault.latencyMs);
    else apply();
  });

  app.use(express.json({ limit: options.jsonLimit ?? '5mb' }));
  if (options.urlencoded) app.use(express.urlencoded({ extended: true }));

  return {
    app,
    counts: () => ({ total, byRoute: Object.fromEntries(byRoute) }),
  };
}

/**
 * Express middleware that lets a request through only with the expected token, and otherwise
 * answers with the vendor's own 401 shape.
 */
export function requireToken(
  extract: (req: Request) => string | undefined,
  expected: string,
  unauthorized: (res: Response) => void,
) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (extract(req) === expected) return next();
    unauthorized(res);
  };
}

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}
