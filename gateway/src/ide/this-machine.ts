/**
 * Whether a request comes from a browser on the gateway's own machine, the only place the IDE
 * page may carry the development token. All three must hold:
 * - the peer is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127.x);
 * - no proxy says it forwarded the request: a reverse proxy on the same host connects from
 *   loopback on behalf of anyone;
 * - the Host is a loopback name: a page of another site whose name was made to resolve to
 *   127.0.0.1 (DNS rebinding) would otherwise read the page as its own.
 */
import type http from 'node:http';
import { isLoopbackAddress, isLoopbackHost } from '../loopback';

const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'via'];

export function isFromThisMachine(request: http.IncomingMessage): boolean {
  if (!isLoopbackAddress(request.socket.remoteAddress)) return false;
  if (PROXY_HEADERS.some((header) => request.headers[header] !== undefined)) return false;
  return isLoopbackHost(request.headers.host);
}
