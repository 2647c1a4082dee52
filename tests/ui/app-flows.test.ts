// The app's flows in Debian's Chromium against the real engine, through the UI
// bridge: build from the sample bootkit to a real ISO; flash it to two loop
// devices with different hostnames (bytes checked on the devices); a refused
// drive that neither mouse nor keyboard can pick; bad config values blocking
// the build at their field; cancel mid-flash. axe on every screen, light and
// dark; every screen and state saved under out/ui/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { listDrives } from '../../electron/flash/drive-list.ts';
import { resolveTarget } from '../../electron/flash/targets.ts';
import { startUiBridge, type UiBridge } from '../../scripts/ui-bridge/server.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { sampleBootkitOs } from '../fixtures/sample-bootkit-os.ts';
import { isRoot } from '../flash/fixture-image.ts';
import { seededBytes } from '../iso/build-fixture.ts';
import { buildRenderer, launch, SHOTS, snapAndCheck } from './browser.ts';

const PASSWORD = 'Ui-Test-Secret-42';

// Functions evaluated inside the page see these page globals (this file is type-checked without the DOM lib).
interface PageElement {
  focus(): void;
  closest(sel: string): PageElement | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  activeElement: PageElement | null;
  querySelectorAll(sel: string): { length: number };
};
declare const localStorage: object;
declare const window: { emt?: import('../../electron/api.ts').EmtBridge };

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function readHead(dev: string, n: number): Promise<Buffer> {
  execFileSync('blockdev', ['--flushbufs', dev]);
  const fh = await open(dev, 'r');
  try {
    const buf = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await fh.read(buf, done, n - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  } finally {
    await fh.close();
  }
}

function p3Offset(dev: string): number {
  const m = /^\s+3\s+(\d+)\s+\d+\s/m.exec(execFileSync('sgdisk', ['-p', dev], { encoding: 'utf8' }));
  if (!m) throw new Error(`no partition 3 on ${dev}`);
  return Number(m[1]) * 512;
}

describe.skipIf(!isRoot)('the app in Chromium against the real engine', () => {
  let dir: string;
  let bridge: UiBridge;
  let browser: Browser;
  let page: Page;
  let iso = '';
  const loops: string[] = [];
  let bigLoop = '';
  const problems: string[] = [];
  /** The loop devices the test drive source lists (a test may plug one in). */
  const mine: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-ui-'));
    buildRenderer(join(dir, 'renderer'));
    const kit = await sampleBootkit('gzip');
    const os = join(dir, 'edge-os.img');
    const osBytes = seededBytes('ui-os', 2 << 20);
    await writeFile(os, osBytes);
    await writeFile(`${os}.sha256`, `${sha256(osBytes)}  edge-os.img\n`);
    await writeFile(join(dir, 'kit-path'), kit.tarball);
    await writeFile(join(dir, 'os-build-path'), (await sampleBootkitOs()).tarball);
    for (const n of [1, 2]) {
      const f = join(dir, `stick${n}.img`);
      execFileSync('truncate', ['-s', '600M', f]);
      loops.push(execFileSync('losetup', ['-f', '--show', f], { encoding: 'utf8' }).trim());
    }
    const big = join(dir, 'big-stick.img');
    execFileSync('truncate', ['-s', '3300M', big]);
    bigLoop = execFileSync('losetup', ['-f', '--show', big], { encoding: 'utf8' }).trim();
    // Test-only drive source: the machine's real drives (refused here: system, no size)
    // plus our loop devices, judged by the very same policy.
    mine.push(...loops, bigLoop);
    bridge = await startUiBridge({
      rendererDir: join(dir, 'renderer'),
      driveSource: async () => [
        ...(await listDrives()),
        ...(await Promise.all([...mine].map(async (l) => (await resolveTarget(l, listDrives)).drive))),
      ],
      logFile: join(dir, 'app.log'),
    });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(bridge.url);
    await page.waitForSelector('#screen-title');
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    for (const l of [...loops, bigLoop]) if (l) execFileSync('losetup', ['-d', l]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const failShot = (name: string) =>
    onTestFailed(async () => {
      await page.screenshot({ path: join(SHOTS, `FAILED-${name}.png`), fullPage: true }).catch(() => {});
    });

  const setPath = async (sel: string, value: string) => {
    await page.fill(sel, value);
    await page.press(sel, 'Tab');
  };

  it('every screen passes axe, light and dark; coming screens say so', async () => {
    problems.push(...(await snapAndCheck(page, '01-build-empty')));
    for (const s of ['preview', 'rebuild', 'log'] as const) {
      await page.click(`[data-screen=${s}]`);
      await expect.poll(() => page.textContent('#screen-title')).not.toBe('');
      if (s !== 'log') expect(await page.textContent('main')).toContain('Coming in the next release');
      problems.push(...(await snapAndCheck(page, `02-${s}`)));
    }
    await page.click('[data-screen=build]');
    expect(problems).toEqual([]);
  });

  it('bad config values show at their field and block the build', async () => {
    const kit = await readFile(join(dir, 'kit-path'), 'utf8');
    // Not a bootkit: the engine's message, in the page, with what to do next.
    await setPath('#bootkit', join(dir, 'edge-os.img'));
    const box = page.locator('[data-testid=step-bootkit] [role=alert]');
    await box.waitFor({ timeout: 30_000 });
    expect(await box.textContent()).toContain('edge-os.img');
    expect(await box.textContent()).toContain('What to do: Choose the Edge Microvisor Bootkit');
    problems.push(...(await snapAndCheck(page, '03a-build-not-a-bootkit')));
    await setPath('#bootkit', kit);
    await page.waitForSelector('[data-testid=inspect]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=tools]')).toContain('✓');
    await setPath('#osimage', join(dir, 'edge-os.img'));
    await page.waitForSelector('[data-testid=os-info]');
    expect(await page.textContent('[data-testid=os-info]')).toContain('edge-os.img.sha256');
    await page.fill('#out', join(dir, 'ui-installer.iso'));
    await page.fill('#f-user_name', 'root');
    await page.fill('#f-static_ip', '10.0.0.256');
    await page.fill('#f-subnet_mask', '24');
    const userError = page.locator('[data-field=user_name] .field-error');
    await expect.poll(() => userError.textContent(), { timeout: 10_000 }).toContain("must not be 'root'");
    expect(await page.textContent('[data-field=static_ip] .field-error')).toContain('10.0.0.256');
    expect(await page.getAttribute('#f-user_name', 'aria-invalid')).toBe('true');
    expect(await page.isDisabled('[data-testid=build]')).toBe(true);
    expect(await page.textContent('[data-testid=build-blocked]')).toMatch(/Fix 2 problems/);
    problems.push(...(await snapAndCheck(page, '03-build-bad-config')));
    // The two passwords must agree too.
    await page.fill('#pw1', PASSWORD);
    await page.fill('#pw2', `${PASSWORD}x`);
    expect(await page.textContent('#pw-error')).toContain('differ');
    expect(problems).toEqual([]);
  });

  it('builds a real ISO from the sample bootkit; its sha256 is the file’s', async () => {
    await page.fill('#f-user_name', 'edge');
    await page.fill('#f-static_ip', '');
    await page.fill('#f-subnet_mask', '');
    await page.fill('#f-hostname', 'site-default');
    await page.fill('#f-dns_name_server', '10.0.0.1');
    await page.fill('#pw2', PASSWORD);
    await expect
      .poll(() => page.textContent('[data-testid=config-state]'), { timeout: 10_000 })
      .toContain('valid');
    // Export as YAML and as today's config-file (through the save dialog), and import back.
    const yaml = join(dir, 'exported.yaml');
    const legacy = join(dir, 'exported-config-file');
    bridge.dialogAnswers.push(yaml);
    await page.click('text=Export YAML…');
    await expect.poll(() => page.textContent('[data-testid=step-config] [role=status]')).toContain(yaml);
    expect(await readFile(yaml, 'utf8')).toMatch(/user_name: edge/);
    bridge.dialogAnswers.push(legacy);
    await page.click('text=Export config-file…');
    await expect.poll(() => readFile(legacy, 'utf8').catch(() => '')).toMatch(/hostname=.?site-default/);
    expect(await readFile(legacy, 'utf8')).not.toContain(PASSWORD);
    await page.fill('#f-hostname', 'changed');
    bridge.dialogAnswers.push([yaml]);
    await page.click('text=Import config…');
    await expect.poll(() => page.inputValue('#f-hostname')).toBe('site-default');
    await expect
      .poll(() => page.textContent('[data-testid=config-state]'), { timeout: 10_000 })
      .toContain('valid');
    // A profile keeps the settings and never the password.
    await page.click('.profiles summary');
    await page.fill('#profile-name', 'line 3');
    await page.click('text=Save profile');
    const stored = await page.evaluate(() => JSON.stringify(localStorage));
    expect(stored).toContain('site-default');
    expect(stored).not.toContain(PASSWORD);
    await page.click('[data-testid=build]');
    await page.waitForSelector('[data-testid=build-status]');
    problems.push(...(await snapAndCheck(page, '04-build-running')));
    await page.waitForSelector('[data-testid=build-result], [data-testid=build-status] [role=alert]', {
      timeout: 300_000,
    });
    expect(await page.textContent('[data-testid=build-status]')).not.toContain('What happened');
    iso = (await page.textContent('[data-testid=result-path]'))!.trim();
    const shown = (await page.textContent('[data-testid=result-sha]'))!.trim();
    expect(iso).toBe(join(dir, 'ui-installer.iso'));
    expect(shown).toBe(sha256(await readFile(iso)));
    expect((await readFile(`${iso}.sha256`, 'utf8')).split(/\s+/)[0]).toBe(shown);
    // Every stage is done, each with its time.
    expect(await page.locator('.stage.done').count()).toBe(6);
    expect(await page.locator('.stage.done .time').allTextContents()).not.toContain('');
    problems.push(...(await snapAndCheck(page, '05-build-done')));
    await page.click('text=Show in folder');
    await expect.poll(() => bridge.shownInFolder).toEqual([iso]);
    expect(problems).toEqual([]);
  });

  it('a refused drive is shown with its reason and cannot be picked by mouse or keyboard', async () => {
    failShot('refused');
    await page.click('[data-testid=flash-it]');
    expect(await page.inputValue('#image')).toBe(iso);
    await page.waitForSelector(`li.drive[data-device="${loops[0]}"]`, { timeout: 10_000 });
    const refused = page.locator('li.drive.refused').first();
    expect(await refused.count()).toBe(1);
    const device = (await refused.getAttribute('data-device'))!;
    expect(await refused.textContent()).toMatch(/cannot be used: .*(system|no size|virtual|removable)/);
    const box = refused.locator('input[type=checkbox]');
    expect(await box.isDisabled()).toBe(true);
    await refused.locator('label').click({ force: true });
    await box.click({ force: true }).catch(() => {});
    expect(await box.isChecked()).toBe(false);
    // Tab through the whole page: focus never lands on a refused drive.
    await page.focus('#image');
    const focused: string[] = [];
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press('Tab');
      focused.push(
        await page.evaluate(
          () => document.activeElement?.closest('li.drive')?.getAttribute('data-device') ?? '',
        ),
      );
    }
    expect(focused).toContain(loops[0]);
    expect(focused).not.toContain(device);
    // Nor can it be focused at all (so Space never reaches it).
    expect(
      await box.evaluate((el) => (el as unknown as PageElement).focus() ?? document.activeElement === el),
    ).toBe(false);
    expect(await box.isChecked()).toBe(false);
    // A crafted call naming the refused drive is refused by the same gate as main's.
    const reply = await page.evaluate(
      ([img, dev]) =>
        window.emt!.run('flash', {
          image: img!,
          targets: [{ device: dev! }],
          verify: true,
          yes: true,
          showAll: false,
        }),
      [iso, device],
    );
    expect('error' in reply && reply.error.code).toMatch(/REFUSED|NOT_LISTED/);
    // "Show all drives" asks first.
    await page.click('[data-testid=show-all]');
    expect(await page.isVisible('dialog[open]')).toBe(true);
    problems.push(...(await snapAndCheck(page, '06-flash-show-all-confirm')));
    await page.keyboard.press('Escape');
    expect(await page.textContent('[data-testid=show-all]')).toBe('Show all drives');
    problems.push(...(await snapAndCheck(page, '07-flash-drives')));
    expect(problems).toEqual([]);
  });

  it('a stick plugged in shows within 2 s, and goes when pulled out', async () => {
    const f = join(dir, 'hotplug.img');
    execFileSync('truncate', ['-s', '300M', f]);
    const l = execFileSync('losetup', ['-f', '--show', f], { encoding: 'utf8' }).trim();
    try {
      const t = performance.now();
      mine.push(l);
      await page.waitForSelector(`li.drive[data-device="${l}"]`, { timeout: 2000 });
      expect(performance.now() - t).toBeLessThan(2000);
      mine.splice(mine.indexOf(l), 1);
      await page.waitForSelector(`li.drive[data-device="${l}"]`, { state: 'detached', timeout: 2000 });
    } finally {
      execFileSync('losetup', ['-d', l]);
    }
  });

  it('reads at 200% zoom: no sideways scrolling, every control reachable', async () => {
    await page.setViewportSize({ width: 550, height: 450 });
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    problems.push(...(await snapAndCheck(page, '07b-flash-zoom-200')));
    await page.click('[data-screen=build]');
    expect(
      await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'),
    ).toBeLessThanOrEqual(0);
    problems.push(...(await snapAndCheck(page, '07c-build-zoom-200')));
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.click('[data-screen=flash]');
    expect(problems).toEqual([]);
  });

  it('flashes the ISO to two loop devices with different hostnames, verified, bytes on the devices', async () => {
    for (const l of loops) await page.check(`li.drive[data-device="${l}"] input`);
    await page.fill(`tr[data-device="${loops[0]}"] [data-col=hostname]`, 'node-01');
    await page.fill(`tr[data-device="${loops[0]}"] [data-col=staticIp]`, '10.0.0.11/24');
    await page.fill(`tr[data-device="${loops[1]}"] [data-col=hostname]`, 'node-02');
    problems.push(...(await snapAndCheck(page, '08-flash-sticks-table')));
    await page.click('[data-testid=flash]');
    const dialog = page.locator('[data-testid=confirm]');
    expect(await dialog.isVisible()).toBe(true);
    for (const l of loops) expect(await dialog.textContent()).toContain(l);
    problems.push(...(await snapAndCheck(page, '09-flash-confirm')));
    await page.click('[data-testid=confirm-write]');
    await page.waitForSelector('[data-testid=flash-status]');
    // Caught mid-write or mid-verify when the machine lets us (a loop device is quick).
    await page
      .waitForSelector('[data-testid=flash-status] .phase:text-matches("writing|verifying")', {
        timeout: 20_000,
      })
      .catch(() => {});
    problems.push(...(await snapAndCheck(page, '10-flash-running')));
    await page.waitForSelector('[data-testid=flash-status] tr[data-state=done] >> nth=1', {
      timeout: 180_000,
    });
    await page.waitForFunction(() => document.querySelectorAll('tr[data-state=running]').length === 0, null, {
      timeout: 180_000,
    });
    for (const l of loops) {
      const row = page.locator(`tr[data-device="${l}"]`);
      expect(await row.getAttribute('data-status')).toBe('ok');
      expect(await row.locator('[data-testid=status]').textContent()).toBe('Written and verified');
      expect(await row.textContent()).toMatch(/Log: .+\.log/);
    }
    problems.push(...(await snapAndCheck(page, '11-flash-done')));
    // On the devices: outside partition 3 the ISO byte for byte, inside it each stick's own config.
    const isoBytes = await readFile(iso);
    for (const [i, l] of loops.entries()) {
      const dev = await readHead(l, isoBytes.length);
      const off = p3Offset(l);
      expect(dev.subarray(0, off).equals(isoBytes.subarray(0, off))).toBe(true);
      const env = execFileSync('mtype', ['-i', `${l}@@${off}`, '::/emt/config.env'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(env).toContain(`hostname=node-0${i + 1}\n`);
      expect(env).toContain('user_name=edge\n');
      expect(env).toContain(i === 0 ? 'static_ip=10.0.0.11\n' : 'static_ip=\n');
      expect(dev.includes(Buffer.from(PASSWORD))).toBe(false);
    }
    expect(problems).toEqual([]);
  });

  it('cancel mid-flash is reported as cancelled', async () => {
    await page.click('text=Flash more sticks');
    const big = join(dir, 'big.img');
    execFileSync('truncate', ['-s', '3G', big]);
    await setPath('#image', big);
    await page.waitForSelector(`li.drive[data-device="${bigLoop}"] input:not([disabled])`, {
      timeout: 10_000,
    });
    // The two small sticks are too small for this image now: the app drops them from the choice itself.
    await page.waitForFunction(() => document.querySelectorAll('li.drive input:checked').length === 0, null, {
      timeout: 10_000,
    });
    expect(await page.textContent(`li.drive[data-device="${loops[0]}"]`)).toContain('too small');
    await page.check(`li.drive[data-device="${bigLoop}"] input`);
    await page.check('#flash-keep-config');
    await page.click('[data-testid=flash]');
    await page.click('[data-testid=confirm-write]');
    const row = page.locator(`tr[data-device="${bigLoop}"]`);
    await expect
      .poll(async () => (await row.textContent()) ?? '', { timeout: 60_000, interval: 100 })
      .toMatch(/writing.*MB \//s);
    await row.locator('button', { hasText: 'Cancel' }).click();
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    expect(await row.locator('[data-testid=status]').textContent()).toMatch(/^Cancelled/);
    problems.push(...(await snapAndCheck(page, '12-flash-cancelled')));
    expect(problems).toEqual([]);
  });

  it('builds from the Bootkit OS build output: the bootkit is made as the first stage', async () => {
    const osBuild = await readFile(join(dir, 'os-build-path'), 'utf8');
    await page.click('nav >> text=Build installer');
    await page.check('input[name=bootkit-source][value=os-build]');
    expect(await page.textContent('#bootkit-label')).toBe('Bootkit OS build output');
    await setPath('#bootkit', osBuild);
    // No bootkit inspect for the OS build output: its checks are the build's first stage.
    expect(await page.locator('[data-testid=inspect]').count()).toBe(0);
    const out = join(dir, 'ui-from-os-build.iso');
    await page.fill('#out', out);
    await page.click('[data-testid=build]');
    await page.waitForSelector('[data-testid=build-result], [data-testid=build-status] [role=alert]', {
      timeout: 300_000,
    });
    expect(await page.textContent('[data-testid=build-status]')).not.toContain('What happened');
    expect((await page.textContent('[data-testid=result-path]'))!.trim()).toBe(out);
    expect(await page.locator('.stage.done').count()).toBe(7);
    expect(await page.locator('.stage .name').first().textContent()).toBe(
      'Make the bootkit from the OS build',
    );
    problems.push(...(await snapAndCheck(page, '13-build-from-os-build')));
    await page.check('input[name=bootkit-source][value=bootkit]');
    expect(await page.textContent('#bootkit-label')).toBe('Bootkit file');
    expect(problems).toEqual([]);
  });

  it('Secure Boot with our own key: says what the node needs, wants key and cert, reports the signers', async () => {
    failShot('14-build-secure-boot');
    const kit = await readFile(join(dir, 'kit-path'), 'utf8');
    await page.click('nav >> text=Build installer');
    await page.check('input[name=bootkit-source][value=bootkit]');
    await setPath('#bootkit', kit);
    await page.waitForSelector('[data-testid=inspect]', { timeout: 60_000 });
    await page.check('input[name=secure-boot][value=shim]');
    expect(await page.textContent('[data-testid=sb-needs]')).toMatch(/Nothing to do on the nodes/);
    await page.check('input[name=secure-boot][value=own]');
    expect(await page.textContent('[data-testid=sb-needs]')).toMatch(/Enrol the certificate once per node/);
    const out = join(dir, 'ui-secure-boot.iso');
    await page.fill('#out', out);
    // Without the key and its certificate the build cannot start, and says why.
    expect(await page.isDisabled('[data-testid=build]')).toBe(true);
    expect(await page.textContent('[data-testid=build-blocked]')).toMatch(/signing key and its certificate/);
    // The organisation's key: a fresh RSA key and certificate (openssl), unencrypted.
    const key = join(dir, 'org.key');
    const cert = join(dir, 'org.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=EMT UI test signing key',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    await setPath('#sign-key', key);
    await setPath('#sign-cert', cert);
    await page.click('[data-testid=build]');
    await page.waitForSelector('[data-testid=build-result], [data-testid=build-status] [role=alert]', {
      timeout: 300_000,
    });
    expect(await page.textContent('[data-testid=build-status]')).not.toContain('What happened');
    const report = (await page.textContent('[data-testid=result-secure-boot]')) ?? '';
    // shim carries Microsoft's signature (and ours); the kernel ours.
    expect(report).toMatch(/BOOTX64\.EFI: signed by .*Microsoft/);
    expect(report).toMatch(/vmlinuz: signed by .*EMT UI test signing key/);
    problems.push(...(await snapAndCheck(page, '14-build-secure-boot')));
    await page.check('input[name=secure-boot][value=uki]');
    expect(await page.textContent('[data-testid=sb-needs]')).toMatch(/firmware db once.*not as a CD/);
    expect(await page.isDisabled('[data-testid=build]')).toBe(false); // key and cert still chosen
    await page.check('input[name=secure-boot][value=off]');
    expect(problems).toEqual([]);
  });
});
