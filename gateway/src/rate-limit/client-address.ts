/**
 * Which client a request comes from, for the per-address limits: the TCP peer's address, never a
 * header. X-Forwarded-For is not read: the gateway has no setting that says which proxies to
 * trust, and a header any client can write would let each request pick its own address.
 */
import type http from 'node:http';
import net from 'node:net';

/**
 * The address a per-address limit counts `request` under. An IPv4 address mapped into IPv6
 * (`::ffff:10.0.0.1`) is the IPv4 address; an IPv6 address is its /64 network, since one host
 * usually holds a whole /64 and could otherwise take a fresh address per request.
 */
export function clientAddressOf(request: http.IncomingMessage): string {
  return limitedAddress(request.socket.remoteAddress);
}

export function limitedAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const withoutZone = address.replace(/%.*$/, '');
  if (!net.isIPv6(withoutZone)) return address;
  return `${expandIPv6(withoutZone).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, `::` filled in (an embedded IPv4 tail is two groups). */
function expandIPv6(address: string): string[] {
  const ipv4Tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  let text = address;
  if (ipv4Tail) {
    const [a, b, c, d] = ipv4Tail.slice(1).map(Number) as [number, number, number, number];
    text = `${address.slice(0, ipv4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((group) => (parseInt(group, 16) || 0).toString(16));
}
