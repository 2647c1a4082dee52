// npm run ui:preview: the built UI in any browser, with the real engine behind
// it (the UI bridge). Prints the URL with its token as the last start-up line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RENDERER_DIR, startUiBridge } from './server.ts';

const rendererDir = process.env.EMT_UI_RENDERER_DIR || DEFAULT_RENDERER_DIR;
if (!existsSync(join(rendererDir, 'index.html'))) {
  process.stderr.write('ui:preview: no built renderer; run npm run build:renderer first\n');
  process.exit(2);
}
const port = process.env.EMT_UI_PORT ? Number(process.env.EMT_UI_PORT) : 0;
const bridge = await startUiBridge({ port, rendererDir });
process.stdout.write('ui:preview: the real engine runs behind this page (builds and flashes for real).\n');
process.stdout.write('ui:preview: Ctrl-C stops. Open:\n');
process.stdout.write(`${bridge.url}\n`);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    bridge.close().then(() => process.exit(0));
  });
