/**
 * The export's response body: gzip when the client accepts it, written with backpressure, flushed
 * page by page, and ended either cleanly or cut short. It compresses itself rather than through
 * the gateway's compression middleware because cutting a CSV short must first put every byte
 * already compressed on the wire, and only a gzip stream of our own says when its flush is done.
 */
import zlib from 'node:zlib';
import type { Request, Response } from 'express';

export interface BodyWriter {
  /** Writes `text`, waiting while the socket (or the compressor) is full. */
  write(text: string): Promise<void>;
  /** Sends what was written so far (a page) now, rather than when the compressor has enough. */
  flush(): void;
  /** Ends the body cleanly, after `text`. */
  end(text?: string): void;
  /** Ends the connection without ending the body, once everything written so far is on the wire. */
  cutShort(): Promise<void>;
}

/** Call before the first write: sets Content-Encoding and Vary when it compresses. */
export function createBodyWriter(req: Request, res: Response): BodyWriter {
  const gzip = req.acceptsEncodings('gzip', 'identity') === 'gzip' ? zlib.createGzip() : undefined;
  if (gzip) {
    res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Vary', 'Accept-Encoding');
    // Piped by hand rather than with pipe(), so that cutting short never ends `res` cleanly.
    gzip.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) gzip.pause();
    });
    res.on('drain', () => gzip.resume());
    gzip.once('end', () => res.end());
  }
  const target: NodeJS.WritableStream = gzip ?? res;
  let gone = false;
  // One listener for the whole body, not one per wait (they would pile up on a long export).
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  target.on('drain', wakeUp);
  res.once('close', () => {
    gone = !res.writableFinished;
    gzip?.destroy();
    wakeUp();
  });

  return {
    async write(text) {
      if (gone || target.write(text)) return;
      await new Promise<void>((resolve) => (wake = resolve));
    },
    flush() {
      gzip?.flush();
    },
    end(text) {
      if (text !== undefined) target.end(text);
      else target.end();
    },
    async cutShort() {
      if (gzip && !gone) {
        await new Promise<void>((resolve) => gzip.flush(() => resolve()));
        // Until every compressed byte was handed to `res` (it waits while the socket is full).
        while (gzip.readableLength > 0 && !gone) await new Promise<void>((resolve) => setTimeout(resolve, 5));
      }
      // Ending the socket sends what is buffered, then closes without the chunked body's last chunk.
      if (res.socket) res.socket.end();
      else res.destroy();
    },
  };
}
