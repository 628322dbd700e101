/**
 * `npm run ide:screenshot`: starts the patient graph as `npm start` does (its processes, its
 * development token in the IDE), opens the IDE in headless chromium, types and runs a query, and
 * writes what the browser shows to docs/images/ide.png (or the path given as the first argument).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEV_CLINIC } from '../../gateway/src/auth/config';
import { fromRoot } from '../root';
import { DEV_IDENTITY, signDevToken } from './dev-token';
import { CHROMIUM_PATH, isChromiumInstalled, launchChromium } from './headless-chromium';
import { openIde, runAndRead, typeOperation } from './ide-page';
import { launch } from './launcher';
import { freePort, patientGraphServices } from './patient-graph';

const QUERY = '{ patients(first: 3) { totalCount nodes { id fullName dataQuality { score route } crmContact { lifecycleStage } } } }';

async function main(): Promise<number> {
  const output = path.resolve(process.argv[2] ?? fromRoot('docs', 'images', 'ide.png'));
  if (!isChromiumInstalled()) {
    console.error(`No chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install chromium).`);
    return 78;
  }
  const secret = crypto.randomBytes(32).toString('hex');
  const developmentToken = signDevToken(secret, { ...DEV_IDENTITY, clinic: DEV_CLINIC });
  const stack = await launch(
    patientGraphServices({ gatewayPort: 0, syncPort: await freePort(), jwtSecret: secret, developmentToken, seedPatients: 50, env: { LOG_LEVEL: 'warn' } }),
  );
  const browser = await launchChromium({ width: 1400, height: 800 });
  try {
    const page = await browser.context.newPage();
    // localhost: the name people type, and a loopback Host, so the page carries the token.
    await openIde(page, stack.urls.gateway!.replace('://127.0.0.1:', '://localhost:'));
    await typeOperation(page, QUERY);
    // GraphiQL's prettify button lays the query out as a person would read it.
    await page.click('.graphiql-prettify-button, [aria-label^="Prettify"]');
    const text = await runAndRead(page, (shown) => shown.includes('"patients"') || shown.includes('"errors"'));
    if (!text.includes('"fullName"')) throw new Error(`the query did not return patients: ${text.slice(0, 500)}`);
    fs.mkdirSync(path.dirname(output), { recursive: true });
    await page.screenshot({ path: output });
    console.log(`wrote ${path.relative(process.cwd(), output)}`);
    return 0;
  } finally {
    await browser.close();
    await stack.stop();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`npm run ide:screenshot: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
