/**
 * Gateway entrypoint: flags and environment → validated config → running gateway; stops on
 * SIGINT/SIGTERM after draining in-flight requests, then flushes the spans still buffered.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../../lib/logger';
import { reportReady, runMain, stopOnSignals } from '../../lib/process';
import { loadTracingConfig } from '../../lib/tracing/config';
import { startTracing } from '../../lib/tracing/setup';
import { loadGatewayConfig } from './config';
import { createGateway } from './server';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`expected a port 0-65535, got ${JSON.stringify(value)}`);
  return port;
}

runMain(async () => {
  const program = new Command('gateway')
    .description('GraphQL federation gateway over a Federation 2 supergraph file')
    .option('--supergraph <path>', 'supergraph SDL file (env SUPERGRAPH_PATH)')
    .option('--port <port>', 'port to listen on (env PORT)', parsePort)
    .option('--config <path>', 'JSON file with upstream policy and per-subgraph endpoints (env GATEWAY_CONFIG)')
    .parse(process.argv);
  const flags = program.opts<{ supergraph?: string; port?: number; config?: string }>();
  const config = loadGatewayConfig(process.env, { supergraphPath: flags.supergraph, port: flags.port, configPath: flags.config });
  // Before the gateway: spans need the provider registered by the time the first request comes.
  const tracing = startTracing(loadTracingConfig(process.env, 'gateway'), { logger: createLogger('gateway') });
  const gateway = await createGateway(config);
  reportReady('gateway', gateway.graphqlUrl);
  stopOnSignals(async () => {
    try {
      await gateway.stop();
    } finally {
      await tracing.shutdown();
    }
  });
});
