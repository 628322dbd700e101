import fs from 'node:fs';
import net from 'node:net';
import { freePort } from './patient-graph';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('choosing a port for a service before it starts', () => {
  it('picks a bindable port outside the range the kernel hands to listen(0) and outgoing connections', async () => {
    const rangeFile = '/proc/sys/net/ipv4/ip_local_port_range';
    const ephemeralStart = fs.existsSync(rangeFile) ? Number(fs.readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]) : 32768;
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThan(ephemeralStart);
    const server = await listen(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('never offers a port something already listens on', async () => {
    // One after another: each port is held before the next is chosen.
    const held: net.Server[] = [];
    for (let i = 0; i < 20; i++) held.push(await listen(await freePort()));
    const ports = held.map((server) => (server.address() as net.AddressInfo).port);
    expect(new Set(ports).size).toBe(ports.length);
    await Promise.all(held.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  });
});
