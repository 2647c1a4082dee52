// The packaged app's elevated writer: its own executable in Node mode running the
// bundled writer.js (never tsx on the sources), under pkexec, UAC or osascript.
import { describe, expect, it } from 'vitest';
import {
  buildWriterLaunch,
  currentWriterProgram,
  packagedWriterProgram,
  useWriterProgram,
  writerProgram,
} from '../../electron/flash/elevate.ts';
import { BUILD_OUTPUT, writerScript } from '../../electron/main/paths.ts';

const channel = ['--socket', '/run/emt.sock'];

describe('packaged writer launch', () => {
  it('the writer script sits where the bundler writes it, unpacked beside an asar when there', () => {
    expect(BUILD_OUTPUT.writer).toBe('dist/writer/writer.js');
    expect(writerScript('/opt/EMT/resources/app.asar', () => true)).toBe(
      '/opt/EMT/resources/app.asar.unpacked/dist/writer/writer.js',
    );
    expect(writerScript('/opt/EMT/resources/app.asar', () => false)).toBe(
      '/opt/EMT/resources/app.asar/dist/writer/writer.js',
    );
    expect(writerScript('/home/me/emt')).toBe('/home/me/emt/dist/writer/writer.js');
  });

  it('a checkout runs tsx on the sources; a packaged app its executable in Node mode', () => {
    useWriterProgram(null);
    expect(currentWriterProgram().argv).toEqual(writerProgram());
    expect(writerProgram().join(' ')).toMatch(/tsx.*writer-process\.ts$/);
    const p = packagedWriterProgram(
      '/opt/EMT/emt-usb',
      '/opt/EMT/resources/app.asar.unpacked/dist/writer/writer.js',
    );
    useWriterProgram(p);
    try {
      expect(currentWriterProgram()).toEqual({
        argv: ['/opt/EMT/emt-usb', '/opt/EMT/resources/app.asar.unpacked/dist/writer/writer.js'],
        env: { ELECTRON_RUN_AS_NODE: '1' },
      });
      expect(currentWriterProgram().argv.join(' ')).not.toMatch(/tsx|\.ts\b/);
    } finally {
      useWriterProgram(null);
    }
  });

  const p = packagedWriterProgram('/opt/EMT/emt-usb', '/opt/EMT/w/writer.js');

  it('Linux: pkexec clears the environment, so env(1) sets ELECTRON_RUN_AS_NODE', () => {
    expect(buildWriterLaunch('linux', true, p.argv, channel, { env: p.env })).toEqual({
      command: 'pkexec',
      args: [
        '/usr/bin/env',
        'ELECTRON_RUN_AS_NODE=1',
        '/opt/EMT/emt-usb',
        '/opt/EMT/w/writer.js',
        '--socket',
        '/run/emt.sock',
        '--token-stdin',
      ],
      tokenVia: 'stdin',
    });
    // Unelevated (already root): the environment goes to spawn.
    expect(buildWriterLaunch('linux', false, p.argv, channel, { env: p.env })).toMatchObject({
      command: '/opt/EMT/emt-usb',
      args: ['/opt/EMT/w/writer.js', '--socket', '/run/emt.sock', '--token-stdin'],
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
  });

  it('Windows: an elevated cmd sets the variable, then starts the app executable on writer.js', () => {
    const w = packagedWriterProgram(
      'C:\\Users\\t\\AppData\\Local\\Programs\\EMT\\EMT.exe',
      'C:\\Users\\t\\AppData\\Local\\Programs\\EMT\\resources\\app.asar.unpacked\\dist\\writer\\writer.js',
    );
    const l = buildWriterLaunch('win32', true, w.argv, ['--socket', '\\\\.\\pipe\\emt-1'], {
      env: w.env,
      tokenFile: 'C:\\Users\\t\\AppData\\Local\\Temp\\emt-token',
    });
    expect(l.command).toBe('powershell.exe');
    expect(l.tokenVia).toBe('file');
    const ps = l.args.at(-1)!;
    expect(ps).toContain("Start-Process -FilePath 'cmd.exe'");
    expect(ps).toContain('-Verb RunAs');
    expect(ps).toContain(
      '/d /s /c "set ELECTRON_RUN_AS_NODE=1&& "C:\\Users\\t\\AppData\\Local\\Programs\\EMT\\EMT.exe" "C:\\Users\\t\\AppData\\Local\\Programs\\EMT\\resources\\app.asar.unpacked\\dist\\writer\\writer.js" "--socket" "\\\\.\\pipe\\emt-1" "--token-file" "C:\\Users\\t\\AppData\\Local\\Temp\\emt-token""',
    );
    expect(() =>
      buildWriterLaunch('win32', true, ['C:\\a%PATH%.exe', 'w.js'], channel, { env: w.env, tokenFile: 't' }),
    ).toThrow(/cannot be passed through cmd/);
  });

  it('macOS: the variable leads the shell command osascript runs as administrator', () => {
    const m = packagedWriterProgram(
      '/Applications/EMT.app/Contents/MacOS/EMT',
      '/Applications/EMT.app/Contents/Resources/app.asar.unpacked/dist/writer/writer.js',
    );
    const l = buildWriterLaunch('darwin', true, m.argv, channel, { env: m.env, tokenFile: '/tmp/tok' });
    expect(l.command).toBe('/usr/bin/osascript');
    expect(l.args[1]).toBe(
      `do shell script "ELECTRON_RUN_AS_NODE='1' '/Applications/EMT.app/Contents/MacOS/EMT' '/Applications/EMT.app/Contents/Resources/app.asar.unpacked/dist/writer/writer.js' '--socket' '/run/emt.sock' '--token-file' '/tmp/tok'" with administrator privileges`,
    );
  });

  it('refuses environment values that could break out of a command line', () => {
    expect(() => buildWriterLaunch('linux', true, p.argv, channel, { env: { X: 'a&b' } })).toThrow(
      /cannot be passed on safely/,
    );
    expect(() => buildWriterLaunch('linux', true, p.argv, channel, { env: { 'bad name': '1' } })).toThrow();
  });
});
